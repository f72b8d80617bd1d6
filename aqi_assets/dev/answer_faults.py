"""Answers that look fine but lack data: faults the local server can apply to a valid body.

Each reproduces an answer that once lost rows, or landed them in the wrong hour, without an
error: a requested variable missing or `null`, a series shorter than the requested days, a
nearly valid time text, an hour twice, local instead of UTC hours, unix times, text values.
"""

from __future__ import annotations

from typing import Any

ANSWER_FAULTS = {
    "drop_variable",
    "null_variable",
    "short_series",
    "bad_time",
    "repeat_hour",
    "local_zone",
    "unix_time",
    "text_values",
}


def _spoil_times(item: dict[str, Any], hourly: dict[str, Any], fault: dict[str, Any]) -> None:
    """The faults of the time series and the answer's zone."""
    kind, times = fault["kind"], hourly["time"]
    if kind == "bad_time":
        hour = int(fault.get("hour", 5))
        times[hour] = fault.get("text", times[hour] + ":00")
    elif kind == "repeat_hour":  # 00:00 twice, 23:00 missing: the count still matches
        times[-1] = times[0]
    elif kind == "local_zone":  # the hours of the local day, labelled like UTC ones
        item["utc_offset_seconds"] = int(fault.get("offset", 25200))
        item["timezone"] = fault.get("timezone", "Asia/Bangkok")
    elif kind == "unix_time":  # what `timeformat=unixtime` answers
        epoch = int(fault.get("first", 1_704_067_200))
        hourly["time"] = [epoch + 3600 * i for i in range(len(times))]


def spoil(body: Any, fault: dict[str, Any]) -> Any:
    """`body` with `fault` applied to item `fault["item"]` (default 0).

    {"kind": "drop_variable", "variable": "dust"}, {"kind": "null_variable", "variable": "dust"},
    {"kind": "short_series", "hours": 24} (every series loses its last hours),
    {"kind": "bad_time", "hour": 5, "text": "2024-03-10T05:00:00"} (one time text replaced),
    {"kind": "repeat_hour"}, {"kind": "local_zone", "offset": 25200}, {"kind": "unix_time"},
    {"kind": "text_values", "variable": "pm10"} (every value of the series a string).
    """
    items = body if isinstance(body, list) else [body]
    item = items[int(fault.get("item", 0))]
    hourly = item["hourly"]
    kind = fault["kind"]
    if kind == "drop_variable":
        del hourly[fault.get("variable", "dust")]
    elif kind == "null_variable":
        hourly[fault.get("variable", "dust")] = None
    elif kind == "short_series":
        cut = int(fault.get("hours", 24))
        for name in hourly:
            hourly[name] = hourly[name][:-cut]
    elif kind == "text_values":
        variable = fault.get("variable", "pm10")
        hourly[variable] = [fault.get("text", "n/a")] * len(hourly[variable])
    else:
        _spoil_times(item, hourly, fault)
    return body
