"""The shared budget ledger across processes: two spawned processes spending at once never exceed
a window's limit (real sleeps and process start-up: moved out of the unit tier)."""

from __future__ import annotations

import multiprocessing
import time

from resources.open_meteo.api_limits import RateLimits
from resources.open_meteo.rate_budget import BudgetLedger


def _spend(path: str, limits: str, scale: float, rounds: int, out) -> None:
    ledger = BudgetLedger(path, "host", RateLimits.parse(limits, time_scale=scale))
    sent = []
    while len(sent) < rounds:
        now = time.time()
        if ledger.try_spend(3.0, now).spent:
            sent.append(now)
        else:
            time.sleep(0.01)
    out.put(sent)


def test_two_processes_sharing_the_ledger_never_exceed_the_limit(tmp_path) -> None:
    """Two processes spend weight 3 at once under 10 a 'minute' of 1 s: 3 per window at most."""
    limits, scale = "10/min", 1 / 60
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [
        context.Process(
            target=_spend, args=(str(tmp_path / "ledger.sqlite"), limits, scale, 6, out)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    sent = [t for _ in workers for t in out.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=10)
    per_window: dict[int, int] = {}
    for t in sent:
        per_window[int(t // 1)] = per_window.get(int(t // 1), 0) + 1
    assert len(sent) == 12
    assert max(per_window.values()) == 3, per_window
