"""One Open-Meteo budget per instance: a ledger of weighted calls shared by every run and process.

The ledger counts in the server's fixed windows (current minute, hour and day per API host) in a
SQLite file. Each decision reads and updates the counts inside one `BEGIN IMMEDIATE`
transaction, which takes the file's write lock before reading: two processes can never both see
the same calls left and spend them twice. See docs/deployment.md, "The Open-Meteo budget".
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from resources.open_meteo.api_limits import RateLimits, Window, blocking_window

LEDGER_FILE = "open_meteo_budget.sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS usage (scope TEXT NOT NULL, window TEXT NOT NULL, "
    "window_start REAL NOT NULL, used REAL NOT NULL, PRIMARY KEY (scope, window))"
)


@dataclass(frozen=True)
class Admission:
    """The ledger's answer: spent (`blocked_by` None), or which window must pass first and when."""

    used: dict[str, float] = field(default_factory=dict)
    blocked_by: Window | None = None
    resume_at: float = 0.0

    @property
    def spent(self) -> bool:
        return self.blocked_by is None


class BudgetLedger:
    """Weighted calls counted per window for one API host (`scope`), shared through `path`.

    Without a path the ledger lives in this process only (tests, one-off clients).
    """

    def __init__(self, path: str | Path | None, scope: str, limits: RateLimits) -> None:
        self.path = Path(path) if path else None
        self.scope = scope
        self.limits = limits
        self._lock = threading.Lock()
        self._memory = (
            None
            if self.path
            else sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._memory is not None:
                conn = self._memory
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # A long busy timeout: another process holds the lock only for a few statements.
                conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(_SCHEMA)
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                if conn is not self._memory:
                    conn.close()

    def _read(self, conn: sqlite3.Connection, now: float) -> dict[str, float]:
        rows = conn.execute(
            "SELECT window, window_start, used FROM usage WHERE scope = ?", (self.scope,)
        ).fetchall()
        stored = {name: (start, used) for name, start, used in rows}
        current = {}
        for window in self.limits.windows:
            start, used = stored.get(window.name, (None, 0.0))
            current[window.name] = used if start == window.start(now) else 0.0
        return current

    def _write(self, conn: sqlite3.Connection, now: float, used: dict[str, float]) -> None:
        conn.executemany(
            "INSERT INTO usage (scope, window, window_start, used) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (scope, window) DO UPDATE SET "
            "window_start = excluded.window_start, used = excluded.used",
            [(self.scope, w.name, w.start(now), used[w.name]) for w in self.limits.windows],
        )

    def usage(self, now: float) -> dict[str, float]:
        """Weighted calls counted in each window holding `now`."""
        if self.limits.off:
            return {}
        with self._transaction() as conn:
            return self._read(conn, now)

    def try_spend(self, weight: float, now: float, reserve: float = 0.0) -> Admission:
        """Count `weight` now if every window lets it go (see `blocking_window`); else say why."""
        if self.limits.off:
            return Admission()
        with self._transaction() as conn:
            used = self._read(conn, now)
            blocker = blocking_window(self.limits, used, weight, reserve)
            if blocker is not None:
                return Admission(used, blocker, blocker.next_start(now))
            self._write(conn, now, {k: v + weight for k, v in used.items()})
            return Admission(used)

    def refused(self, weight: float, spent_at: float, window_name: str | None, now: float) -> None:
        """The server refused a request counted at `spent_at`: it counted nothing, so take the
        weight back, and mark the window it named as full until that window ends."""
        if self.limits.off:
            return
        with self._transaction() as conn:
            used = self._read(conn, now)
            for window in self.limits.windows:
                if window.start(spent_at) == window.start(now):
                    used[window.name] = max(0.0, used[window.name] - weight)
                if window.name == window_name:
                    used[window.name] = max(used[window.name], window.limit)
            self._write(conn, now, used)
