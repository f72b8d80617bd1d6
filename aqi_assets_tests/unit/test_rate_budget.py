"""The cost model, the planner and the shared ledger: Open-Meteo's weights and fixed windows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from resources.open_meteo.api_limits import REASONS, RateLimits, request_weight, window_of_reason
from resources.open_meteo.fetch_plan import plan_fetch
from resources.open_meteo.rate_budget import BudgetLedger

FIRST, LAST = date(2024, 1, 1), date(2025, 10, 16)
FREE = RateLimits.parse("600/min,5000/h,10000/d")
ON_THE_HOUR = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


def test_weights_follow_calculate_query_weight() -> None:
    assert request_weight(100, 11, 655) == pytest.approx(5146.4, abs=0.1)
    assert request_weight(3, 11, 655) == pytest.approx(154.4, abs=0.1)
    assert request_weight(1, 15, 14) == pytest.approx(1.5)
    assert request_weight(1, 5, 1) == 1.0, "never below one call per location"
    assert request_weight(2, 11, 7) == request_weight(2, 11, 14), "days below 14 cost the same"


def test_limits_parse_and_say_what_is_wrong() -> None:
    assert FREE.describe() == "600/min, 5,000/h, 10,000/d"
    assert [w.seconds for w in FREE.windows] == [60, 3600, 86400]
    assert RateLimits.parse("off").off
    assert RateLimits.parse("10/min", time_scale=0.1).windows[0].seconds == pytest.approx(6)
    with pytest.raises(ValueError, match="LIMIT/UNIT"):
        RateLimits.parse("600 per minute")
    with pytest.raises(ValueError, match="given twice"):
        RateLimits.parse("600/min,10/min")
    assert window_of_reason(REASONS["hour"]) == "hour"
    assert window_of_reason("Too many concurrent requests") is None


def _covered(plan) -> list[tuple[int, date]]:
    cells = []
    for r in plan.requests:
        for loc in range(r.first_location, r.stop_location):
            cells.extend((loc, day) for day in _days(r.first_day, r.last_day))
    return cells


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]


def test_100_cities_over_22_months_spend_the_hour_evenly_and_keep_the_reserve() -> None:
    plan = plan_fetch(100, FIRST, LAST, 11, FREE, start=ON_THE_HOUR)
    cells = _covered(plan)
    assert len(cells) == len(set(cells)) == 100 * 655, "every location and day exactly once"
    assert plan.weight == pytest.approx(5146.4, abs=0.1)
    assert all(r.weight <= 300 for r in plan.requests), "two requests fit in a minute"
    assert plan.exceeds_hour
    assert not plan.exceeds_day
    assert plan.needs_confirmation
    first_hour = [t for t in plan.send_at if t.hour == 14]
    spent = sum(r.weight for r, t in zip(plan.requests, plan.send_at, strict=True) if t.hour == 14)
    assert spent <= 4500, "the backfill leaves 10% of the hour for the hourly refresh"
    assert len(first_hour) == 15
    assert max(t.minute for t in first_hour) == 7, "two requests a minute"
    assert plan.send_at[15] == datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    text = plan.describe()
    assert "100 locations \u00d7 655 days" in text
    assert "18 requests, 5,146 weighted calls" in text
    assert "about 8 min at 2 requests a minute, then the hour's budget is spent" in text
    assert "the hourly refresh keeps its reserve" in text


def test_3_cities_over_22_months_fit_in_one_minute() -> None:
    plan = plan_fetch(3, FIRST, LAST, 11, FREE, start=ON_THE_HOUR)
    assert plan.weight == pytest.approx(154.4, abs=0.1)
    assert not plan.needs_confirmation
    assert plan.shortest.total_seconds() == 60
    assert "8 requests, 154 weighted calls" in plan.describe()


def test_the_hourly_refresh_may_use_the_reserve() -> None:
    used = {"minute": 0.0, "hour": 4490.0, "day": 4490.0}
    refresh = plan_fetch(100, date(2026, 1, 4), date(2026, 1, 5), 11, FREE, start=ON_THE_HOUR)
    assert not refresh.bulk
    refresh = plan_fetch(
        100, date(2026, 1, 4), date(2026, 1, 5), 11, FREE, start=ON_THE_HOUR, used=used
    )
    assert refresh.send_at[-1] == ON_THE_HOUR, "the refresh goes at once"
    backfill = plan_fetch(
        3, date(2025, 1, 1), date(2025, 3, 31), 11, FREE, start=ON_THE_HOUR, used=used
    )
    assert backfill.send_at[0].hour == 15, "a backfill waits for the next hour"


def test_without_limits_requests_are_as_large_as_the_caps() -> None:
    plan = plan_fetch(100, FIRST, LAST, 11, RateLimits.parse("off"))
    assert len(plan.requests) == 16
    assert "Limits: off" in plan.describe()


def test_a_refusal_gives_the_weight_back_and_blocks_the_window() -> None:
    ledger = BudgetLedger(None, "host", FREE)
    now = ON_THE_HOUR.timestamp()
    assert ledger.try_spend(100, now).spent
    ledger.refused(100, now, "hour", now + 1)
    assert ledger.usage(now + 1) == {"minute": 0.0, "hour": 5000.0, "day": 0.0}
    blocked = ledger.try_spend(1, now + 2)
    assert blocked.blocked_by.name == "hour"
    assert blocked.resume_at == now + 3600
    assert ledger.try_spend(1, now + 3600).spent
