"""The ledger's clock: the time is read under the lock, and a newer window is never set back."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from resources.open_meteo.api_limits import RateLimits
from resources.open_meteo.rate_budget import LEDGER_FILE, BudgetLedger

DAY = RateLimits.parse("10000/d")
MIDNIGHT = datetime(2026, 1, 6, tzinfo=UTC).timestamp()


def test_processes_whose_clocks_disagree_never_reset_each_other(tmp_path: Path) -> None:
    """One process at 9,900 of the day's 10,000 just before midnight, another 2 s ahead."""
    path = tmp_path / LEDGER_FILE
    behind, ahead = BudgetLedger(path, "host", DAY), BudgetLedger(path, "host", DAY)
    assert behind.try_spend(9900, MIDNIGHT - 3).spent
    assert ahead.try_spend(50, MIDNIGHT + 1).spent  # its clock already says tomorrow
    assert ahead.usage(MIDNIGHT + 1) == {"day": 50.0}
    # The process behind finds tomorrow's window counted: it counts there, never zeroes it.
    assert behind.try_spend(30, MIDNIGHT - 1).spent
    assert ahead.usage(MIDNIGHT + 2) == {"day": 80.0}
    behind.refused(30, MIDNIGHT - 1, None, MIDNIGHT - 0.5)  # the weight goes back, no further
    assert ahead.usage(MIDNIGHT + 2) == {"day": 50.0}


def test_the_time_is_read_once_the_lock_is_held(tmp_path: Path) -> None:
    """A process that waited for the lock does not count with the time it read before waiting."""
    path = tmp_path / LEDGER_FILE
    ledger = BudgetLedger(path, "host", DAY)
    ledger.usage(time.time())
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released: list[float] = []

    def release() -> None:
        time.sleep(0.5)
        released.append(time.time())
        holder.execute("COMMIT")

    thread = threading.Thread(target=release)
    thread.start()
    read_at: list[float] = []

    def clock() -> float:
        read_at.append(time.time())
        return read_at[-1]

    admission = ledger.try_spend(1.0, clock)
    thread.join()
    holder.close()
    assert admission.spent
    assert read_at
    assert min(read_at) >= released[0]
    assert admission.at == read_at[-1]
