"""Answers that look fine but lack data: faults the local server can apply to a valid body.

Each reproduces an answer that once lost rows without an error: a requested variable missing
or `null`, a series shorter than the requested days, a nearly valid time text.
"""

from __future__ import annotations

from typing import Any

ANSWER_FAULTS = {"drop_variable", "null_variable", "short_series", "bad_time"}


def spoil(body: Any, fault: dict[str, Any]) -> Any:
    """`body` with `fault` applied to item `fault["item"]` (default 0).

    {"kind": "drop_variable", "variable": "dust"}, {"kind": "null_variable", "variable": "dust"},
    {"kind": "short_series", "hours": 24} (every series loses its last hours),
    {"kind": "bad_time", "hour": 5, "text": "2024-03-10T05:00:00"} (one time text replaced).
    """
    items = body if isinstance(body, list) else [body]
    hourly = items[int(fault.get("item", 0))]["hourly"]
    kind = fault["kind"]
    if kind == "drop_variable":
        del hourly[fault.get("variable", "dust")]
    elif kind == "null_variable":
        hourly[fault.get("variable", "dust")] = None
    elif kind == "short_series":
        cut = int(fault.get("hours", 24))
        for name in hourly:
            hourly[name] = hourly[name][:-cut]
    elif kind == "bad_time":
        hour = int(fault.get("hour", 5))
        hourly["time"][hour] = fault.get("text", hourly["time"][hour] + ":00")
    return body
