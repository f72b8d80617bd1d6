"""One Open-Meteo budget per instance: a ledger of weighted calls shared by every run and process.

The ledger counts in the server's fixed windows (current minute, hour and day per API host) in a
SQLite file. Each decision reads and updates the counts inside one `BEGIN IMMEDIATE`
transaction, which takes the file's write lock before reading: two processes can never both see
the same calls left and spend them twice. See docs/deployment.md, "The Open-Meteo budget".
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from resources.open_meteo.answers import OpenMeteoError
from resources.open_meteo.api_limits import RateLimits, Window, blocking_window

LEDGER_FILE = "open_meteo_budget.sqlite"
DEADLINE_SETTING = "AQI_OPEN_METEO_DEADLINE"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS usage (scope TEXT NOT NULL, window TEXT NOT NULL, "
    "window_start REAL NOT NULL, used REAL NOT NULL, PRIMARY KEY (scope, window))"
)
# `now` as a number, or a clock the ledger reads once it holds the lock.
Clock = Callable[[], float]
# Per window: the start of the window counted in, and the weighted calls counted there.
Counts = dict[str, tuple[float, float]]


class OpenMeteoLedgerError(OpenMeteoError):
    """The budget ledger cannot be read or written; the message names the file and the fix."""


@dataclass(frozen=True)
class Admission:
    """The ledger's answer: spent (`blocked_by` None), or which window must pass first and when."""

    used: dict[str, float] = field(default_factory=dict)
    blocked_by: Window | None = None
    resume_at: float = 0.0
    # The time the decision was made at, read under the lock when the caller gave a clock.
    at: float = 0.0

    @property
    def spent(self) -> bool:
        return self.blocked_by is None


class BudgetLedger:
    """Weighted calls counted per window for one API host (`scope`), shared through `path`.

    Without a path the ledger lives in this process only (tests, one-off clients). Another
    process holding the file's lock is waited for at most `lock_timeout` seconds (the client's
    deadline).
    """

    def __init__(
        self,
        path: str | Path | None,
        scope: str,
        limits: RateLimits,
        lock_timeout: float = 60.0,
    ) -> None:
        self.path = Path(path) if path else None
        self.scope = scope
        self.limits = limits
        self.lock_timeout = lock_timeout
        self._lock = threading.Lock()
        self._memory = (
            None
            if self.path
            else sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        )

    def _fault(self, exc: BaseException) -> OpenMeteoLedgerError:
        """The error saying what is wrong with the ledger file and what to do about it."""
        cause = str(exc) or type(exc).__name__
        if self.path is None:
            return OpenMeteoLedgerError(f"The in-memory Open-Meteo budget ledger failed: {cause}.")
        safe = (
            "it only counts this instance's recent API calls and is created again, empty, "
            "so it is safe to delete"
        )
        if "locked" in cause:
            return OpenMeteoLedgerError(
                f"The Open-Meteo budget ledger {self.path} stayed locked by another process for "
                f"{self.lock_timeout:g} s ({DEADLINE_SETTING}): {cause}. Each run holds it only "
                "for a moment, so one is stuck: stop it or, if no run or `aqi` command is using "
                f"the ledger, delete the file and run again ({safe})."
            )
        return OpenMeteoLedgerError(
            f"The Open-Meteo budget ledger {self.path} cannot be used: {cause}. Delete the file "
            f"and run again ({safe})."
        )

    def _connect(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Another process holds the lock for a few statements only; waiting longer than
            # the request's deadline would only hide a stuck one.
            return sqlite3.connect(self.path, timeout=self.lock_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise self._fault(exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(_SCHEMA)
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                # A failed BEGIN leaves no transaction: a ROLLBACK then would replace the cause.
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._fault(exc) from exc
                raise
            finally:
                if conn is not self._memory:
                    conn.close()

    def _read(self, conn: sqlite3.Connection, now: float) -> Counts:
        """Each window's count: the window holding `now`, or a newer one that a process whose
        clock is ahead already counts in (setting that one back would lose its calls)."""
        rows = conn.execute(
            "SELECT window, window_start, used FROM usage WHERE scope = ?", (self.scope,)
        ).fetchall()
        stored = {name: (start, used) for name, start, used in rows}
        current = {}
        for window in self.limits.windows:
            own = window.start(now)
            start, used = stored.get(window.name, (own, 0.0))
            current[window.name] = (start, used) if start >= own else (own, 0.0)
        return current

    def _write(self, conn: sqlite3.Connection, counts: Counts) -> None:
        conn.executemany(
            "INSERT INTO usage (scope, window, window_start, used) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (scope, window) DO UPDATE SET "
            "window_start = excluded.window_start, used = excluded.used",
            [(self.scope, name, start, used) for name, (start, used) in counts.items()],
        )

    def usage(self, now: float | Clock) -> dict[str, float]:
        """Weighted calls counted in each window holding `now` (a read: newer ones stay as
        they are, and count as nothing here)."""
        if self.limits.off:
            return {}
        with self._transaction() as conn:
            at = _time(now)
            counts = self._read(conn, at)
            return {
                w.name: counts[w.name][1] if counts[w.name][0] == w.start(at) else 0.0
                for w in self.limits.windows
            }

    def try_spend(self, weight: float, now: float | Clock, reserve: float = 0.0) -> Admission:
        """Count `weight` now if every window lets it go (see `blocking_window`); else say why."""
        if self.limits.off:
            return Admission(at=_time(now))
        with self._transaction() as conn:
            at = _time(now)
            counts = self._read(conn, at)
            used = {k: u for k, (_, u) in counts.items()}
            blocker = blocking_window(self.limits, used, weight, reserve)
            if blocker is not None:
                resume_at = counts[blocker.name][0] + blocker.seconds
                return Admission(used, blocker, resume_at, at)
            self._write(conn, {k: (start, u + weight) for k, (start, u) in counts.items()})
            return Admission(used, at=at)

    def refused(
        self, weight: float, spent_at: float, window_name: str | None, now: float | Clock
    ) -> None:
        """The server refused a request counted at `spent_at`: it counted nothing, so take the
        weight back, and mark the window it named as full until that window ends."""
        if self.limits.off:
            return
        with self._transaction() as conn:
            at = _time(now)
            counts = self._read(conn, at)
            for window in self.limits.windows:
                start, used = counts[window.name]
                if window.start(spent_at) == window.start(at):
                    used = max(0.0, used - weight)
                if window.name == window_name:
                    used = max(used, window.limit)
                counts[window.name] = (start, used)
            self._write(conn, counts)


def _time(now: float | Clock) -> float:
    return now() if callable(now) else now
