"""A fetch plan in words: what `aqi backfill` shows before it starts and bronze logs."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resources.open_meteo.fetch_plan import FetchPlan


def describe_plan(plan: FetchPlan) -> str:
    """The plan in a few lines of plain text."""
    largest = max((r.weight for r in plan.requests), default=0.0)
    lines = [
        f"{plan.n_locations:,} locations \u00d7 {plan.days:,} days ({plan.first_day}..{plan.last_day}), "
        f"{plan.n_variables} variables: {len(plan.requests):,} requests, "
        f"{plan.weight:,.0f} weighted calls (up to {largest:,.0f} per request)."
    ]
    if plan.limits.off:
        lines.append(
            "Limits: off (self-hosted server or a plan without limits): "
            "the requests go one after the other as fast as the server answers."
        )
        return "\n".join(lines)
    share = f"{plan.reserve:.0%}"
    lines.append(
        f"Limits: {plan.limits.describe()}; "
        + (
            f"this fetch leaves {share} of the hour's and the day's budget for the hourly refresh."
            if plan.reserving()
            else "this fetch may use the whole budget."
        )
    )
    lines.append(f"Shortest time the budget allows: {_timeline(plan)}.")
    return "\n".join(lines)


def _timeline(plan: FetchPlan) -> str:
    phases: list[list[int]] = [[]]
    for index, waited in enumerate(plan.waited_for):
        if waited in ("hour", "day") and phases[-1]:
            phases.append([])
        phases[-1].append(index)
    parts = []
    for number, phase in enumerate(phases):
        minutes = _minutes(plan, phase)
        rate = _per_minute(plan, phase)
        text = f"about {minutes} min" + (f" at {rate} requests a minute" if rate > 1 else "")
        if number:
            waited = plan.waited_for[phase[0]]
            text = (
                f"the next {len(phase)} requests wait for the next {waited}, "
                f"at {plan.send_at[phase[0]]:%Y-%m-%d %H:%M} UTC, then {text}"
            )
        parts.append(text)
        if number + 1 < len(phases):
            spent = sum(plan.requests[i].weight for i in _window_mates(plan, phases, number))
            blocked = plan.waited_for[phases[number + 1][0]]
            window = plan.limits.get(blocked or "hour")
            limit = plan.cap(window) if window else 0.0
            parts.append(f"then the {blocked}'s budget is spent ({spent:,.0f} of {limit:,.0f})")
    total = plan.shortest
    text = ", ".join(parts)
    if len(phases) > 1:
        text += f"; done at the earliest {_span(total)} after the start"
    if plan.reserving():
        text += ": the hourly refresh keeps its reserve"
    return text


def _minutes(plan: FetchPlan, phase: list[int]) -> int:
    minute = plan.limits.get("minute")
    seconds = minute.seconds if minute else 60.0
    first = plan.send_at[phase[0]].timestamp()
    last = plan.send_at[phase[-1]].timestamp()
    return max(1, math.ceil((last - first) / seconds + (1 if minute else 0)))


def _per_minute(plan: FetchPlan, phase: list[int]) -> int:
    minute = plan.limits.get("minute")
    if minute is None:
        return 0
    counts: dict[float, int] = {}
    for i in phase:
        key = minute.start(plan.send_at[i].timestamp())
        counts[key] = counts.get(key, 0) + 1
    return max(counts.values())


def _window_mates(plan: FetchPlan, phases: list[list[int]], number: int) -> list[int]:
    """Requests of phase `number` inside the window that the next phase waits out."""
    blocked = plan.waited_for[phases[number + 1][0]] or "hour"
    window = plan.limits.get(blocked)
    if window is None:
        return phases[number]
    last = window.start(plan.send_at[phases[number][-1]].timestamp())
    return [i for i in phases[number] if window.start(plan.send_at[i].timestamp()) == last]


def _span(delta: timedelta) -> str:
    minutes = math.ceil(delta.total_seconds() / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"
