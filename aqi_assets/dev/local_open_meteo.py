"""A local HTTP server that speaks Open-Meteo's air-quality format, for tests, demos and benchmarks.

Data is a deterministic function of (grid-snapped coordinates, UTC hour, variable): the same
request always returns the same numbers, in any process. Pollution spells of several days push
PM2.5 above 55.5 µg/m³ (AQI >= 151) for runs that cross midnight. Faults (429, 5xx, slow,
connection reset, malformed JSON, wrong list length, empty hourly) can be queued from Python or
over HTTP (`POST /_control/faults`), and every call is counted (`GET /_control/stats`).
The server keeps a model clock (`server.clock.set(...)`, `--now`): hours after its now are
forecast values, `meta.json` announces the model runs and newer runs revise recent hours
(aqi_assets/dev/local_model_clock.py).
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import socket
import threading
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from aqi_assets.catalog.pollutants import CATALOGUE
from aqi_assets.dev.answer_faults import ANSWER_FAULTS
from aqi_assets.dev.local_model_clock import META_PATH, ModelClock, horizon_hour, meta_json, revise
from aqi_assets.dev.local_rate_limit import LocalRateLimiter, hang
from aqi_assets.dev.local_replies import ApiError, Reply, air_quality_reply, error_reply, json_reply
from aqi_assets.transforms.aqi.aqi_reference import open_meteo_us_aqi_pm25

HISTORY_START = date(2022, 8, 1)
FORECAST_DAYS = 5
# Every variable of the pollutant catalogue, with the unit Open-Meteo gives it.
UNITS = {e.variable: e.unit for e in CATALOGUE if e.variable}
FAULT_KINDS = {
    "status",
    "delay",
    "reset",
    "malformed_json",
    "wrong_length",
    "empty_hourly",
    "hang",
    "echo_query",
    "drip",
    "oversized",
    *ANSWER_FAULTS,
}


def snap(value: float, step: float) -> float:
    """Snap a coordinate to the model grid, with the float noise the real API shows."""
    return round(round(value / step) * step, 5) + (0.00002 if step == 0.4 else 0.0)


_HASH_WEIGHTS = (12.9898, 78.233, 37.719, 4.581)


def _unit_hash(*parts: float) -> float:
    """A deterministic pseudo-random number in [0, 1) from numbers."""
    x = math.sin(sum(map(operator.mul, parts, _HASH_WEIGHTS))) * 43758.5453
    return x - math.floor(x)


# Daily cycles by hour of day: PM2.5's factor and the sun's height.
_DAILY = tuple(1 + 0.35 * math.sin(2 * math.pi * (h - 4) / 24) for h in range(24))
_SUN = tuple(max(0.0, math.sin(math.pi * (h - 6) / 12)) for h in range(24))


def pm25_series(lat: float, lon: float, hours: list[int]) -> list[float]:
    """PM2.5 at each hour (hours since the epoch): base level, daily cycle, multi-day spells, noise."""
    base = 12 + 28 * _unit_hash(lat, lon)
    phase = 2 * math.pi * _unit_hash(lon, lat)
    return [
        round(
            max(
                0.5,
                base * _DAILY[hour % 24]
                + max(0.0, math.sin(2 * math.pi * hour / (24 * 6.3) + phase)) ** 4 * 140
                + (_unit_hash(lat, lon, hour) - 0.5) * 6,
            ),
            1,
        )
        for hour in hours
    ]


def _us_aqi(pm25: float) -> int:
    bands = ((9.0, 0, 50), (35.4, 51, 100), (55.4, 101, 150), (125.4, 151, 200), (225.4, 201, 300))
    low = 0.0
    for high, i_lo, i_hi in bands:
        if pm25 <= high:
            return round((i_hi - i_lo) / (high - low) * (pm25 - low) + i_lo)
        low = high + 0.1
    return 301 + min(199, round(pm25 - 225.5))


def _variable_series(
    variable: str, lat: float, lon: float, hours: list[int], pm25: list[float]
) -> list[float | None]:
    """One variable at each hour, derived from PM2.5, the sun's height and hashes of the hour."""
    if variable == "pm2_5":
        return list(pm25)
    if variable == "pm10":
        return [round(p * 1.45 + 4, 1) for p in pm25]
    if variable == "ozone":
        return [round(35 + 60 * _SUN[h % 24] + 10 * _unit_hash(h, lat), 1) for h in hours]
    if variable == "nitrogen_dioxide":
        return [round(8 + 0.35 * p, 1) for p in pm25]
    if variable == "sulphur_dioxide":
        return [round(3 + 0.12 * p, 1) for p in pm25]
    if variable == "carbon_monoxide":
        return [round(180 + 6.5 * p, 1) for p in pm25]
    if variable == "aerosol_optical_depth":
        return [round(0.08 + p / 250, 3) for p in pm25]
    if variable == "dust":
        if _unit_hash(lat, lon, 7) < 0.34:
            return [None] * len(hours)
        return [round(1 + 4 * _unit_hash(h, lon), 1) for h in hours]
    if variable == "uv_index":
        return [round(9 * _SUN[h % 24], 2) for h in hours]
    if variable == "us_aqi":
        return [float(_us_aqi(p)) for p in pm25]
    return _generic_series(variable, lat, lon, hours)


def _generic_series(variable: str, lat: float, lon: float, hours: list[int]) -> list[float]:
    """A catalogue variable without a model of its own: hashed values in the lowest 5 % of its
    valid range (e.g. a pollutant added to the catalogue since)."""
    [found] = [e for e in CATALOGUE if e.variable == variable]
    high = found.valid_range[1] if found.valid_range else 100.0
    salt = sum(map(ord, variable))
    return [round(0.05 * high * _unit_hash(h, lat, lon, salt), 2) for h in hours]


def location_series(
    variables: list[str],
    lat: float,
    lon: float,
    hours: range,
    horizon: int,
    now: datetime | None = None,
) -> dict[str, list[float | None]]:
    """Each variable over `hours` at one grid point, deterministic; None from `horizon` on.

    With `now`, hours the latest model run at `now` has not made final carry its estimate.
    """
    known = [h for h in hours if h < horizon]
    missing = [None] * (len(hours) - len(known))
    # PM2.5 from 24 hours before the first known one: us_aqi_pm2_5 averages the 24 before each.
    before = 24 if known else 0
    span = list(range(known[0] - before, known[-1] + 1)) if known else []
    pm25_span = pm25_series(lat, lon, span)
    if now is not None:
        pm25_span = revise(pm25_span, span, now)
    pm25 = pm25_span[before:]
    series = {
        v: _variable_series(v, lat, lon, known, pm25) + missing
        for v in variables
        if v != "us_aqi_pm2_5"
    }
    if "us_aqi_pm2_5" in variables:
        series["us_aqi_pm2_5"] = _open_meteo_pm25_index(pm25_span, len(known)) + missing
    return {v: series[v] for v in variables}


def _open_meteo_pm25_index(pm25_span: list[float], count: int) -> list[float | None]:
    """`us_aqi_pm2_5` the way Open-Meteo computes it, for the last `count` hours of `pm25_span`
    (which starts 24 hours before them): from the 24 hours before each hour."""
    index = [open_meteo_us_aqi_pm25(pm25_span[i : i + 24]) for i in range(count)]
    return [None if i is None else float(round(i)) for i in index]


class LocalOpenMeteo:
    """The server: `with LocalOpenMeteo() as server: server.base_url`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        today: date | None = None,
        api_key: str | None = None,
        now: datetime | None = None,
    ) -> None:
        self._today = today
        self.clock = ModelClock(now)
        # False answers meta.json with 404, as a server without model metadata would.
        self.meta_available = True
        self.api_key = api_key
        # Open-Meteo's limiter, off until `server.limiter.configure("600/min,...")`.
        self.limiter = LocalRateLimiter()
        self._lock = threading.Lock()
        self._faults: deque[dict[str, Any]] = deque()
        self._permanent: dict[str, Any] | None = None
        self._calls = 0
        self.requests_log: list[dict[str, str]] = []
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def today(self) -> date:
        return self._today or self.clock.now().date()

    @property
    def calls(self) -> int:
        """/v1/air-quality requests served (faulty answers included)."""
        with self._lock:
            return self._calls

    def reset_counters(self) -> None:
        """Forget the calls served so far."""
        with self._lock:
            self._calls = 0
            self.requests_log.clear()

    def set_faults(self, *faults: dict[str, Any], permanent: bool = False) -> None:
        """Queue faults, one per coming call; `permanent=True` repeats the single fault forever.

        Kinds: {"kind": "status", "status": 429, "retry_after": 1}, {"kind": "delay", "seconds": 2},
        {"kind": "reset"}, {"kind": "malformed_json"}, {"kind": "wrong_length"}, {"kind": "empty_hourly"},
        {"kind": "hang", "seconds": 30} (accept the connection, never answer),
        {"kind": "echo_query", "status": 403} (an HTML page listing the query, API key included),
        {"kind": "drip", "every": 1.0, "bytes": 12} (12 bytes a second apart, then the rest), {"kind": "oversized", "bytes": N}.
        """
        unknown = [f for f in faults if f.get("kind") not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {sorted(FAULT_KINDS)}")
        with self._lock:
            if permanent:
                self._permanent = faults[0]
            else:
                self._faults.extend(faults)

    def clear_faults(self) -> None:
        """No more faults."""
        with self._lock:
            self._faults.clear()
            self._permanent = None

    def log_request(self, query: dict[str, str]) -> None:
        """Keep the query of a request the server received (tests read `requests_log`)."""
        with self._lock:
            self.requests_log.append(query)

    def next_fault(self) -> dict[str, Any] | None:
        with self._lock:
            self._calls += 1
            if self._faults:
                return self._faults.popleft()
            return self._permanent

    def start(self) -> LocalOpenMeteo:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LocalOpenMeteo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def plain_answer(self, path: str) -> tuple[int, Any] | None:
        """The answer of a path that is not an API call (stats, model metadata), else None."""
        if path == "/_control/stats":
            return 200, {"calls": self.calls, "limiter": self.limiter.stats()}
        if path == META_PATH:
            if not self.meta_available:
                return 404, {"error": True, "reason": f"Not found: {path}"}
            return 200, meta_json(self.clock.now())
        return None

    def answer(self, query: dict[str, str]) -> Any:
        """The JSON body for a valid request; ApiError otherwise."""
        if self.api_key and query.get("apikey") != self.api_key:
            raise ApiError("API key is missing or invalid")
        try:
            lats = [float(x) for x in query["latitude"].split(",")]
            lons = [float(x) for x in query["longitude"].split(",")]
        except (KeyError, ValueError):
            raise ApiError("Parameter 'latitude' and 'longitude' must be lists of floats") from None
        if len(lats) != len(lons):
            raise ApiError(
                "Parameter 'latitude' and 'longitude' must have the same number of elements"
            )
        variables = [v for v in query.get("hourly", "").split(",") if v]
        for variable in variables:
            if variable not in UNITS:
                raise ApiError(
                    f"Cannot initialize AirQualityVariable from invalid String value {variable}."
                )
        start, end = self._dates(query)
        first_hour = int(
            datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() // 3600
        )
        hours = range(first_hour, first_hour + ((end - start).days + 1) * 24)
        now = self.clock.now()
        horizon = horizon_hour(now)
        times = [datetime.fromtimestamp(h * 3600, UTC).strftime("%Y-%m-%dT%H:%M") for h in hours]
        items = []
        for index, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
            glat, glon = snap(lat, 0.1), snap(lon, 0.4)
            hourly: dict[str, list[Any]] = {
                "time": list(times),
                **location_series(variables, glat, glon, hours, horizon, now),
            }
            item: dict[str, Any] = {
                "latitude": glat,
                "longitude": glon,
                "generationtime_ms": round(0.05 + 0.01 * len(variables), 4),
                "utc_offset_seconds": 0,
                "timezone": "GMT",
                "timezone_abbreviation": "GMT",
                "elevation": round(5 + 300 * _unit_hash(glat, glon), 1),
                "hourly_units": {"time": "iso8601", **{v: UNITS[v] for v in variables}},
                "hourly": hourly,
            }
            if index:
                item["location_id"] = index
            items.append(item)
        return items if len(items) > 1 else items[0]

    def _dates(self, query: dict[str, str]) -> tuple[date, date]:
        allowed_end = self.today + timedelta(days=FORECAST_DAYS)
        parsed = {}
        for name in ("start_date", "end_date"):
            raw = query.get(name, self.today.isoformat())
            try:
                parsed[name] = date.fromisoformat(raw)
            except ValueError:
                raise ApiError(f"Invalid date format for parameter '{name}': {raw}") from None
            if not HISTORY_START <= parsed[name] <= allowed_end:
                raise ApiError(
                    f"Parameter '{name}' is out of allowed range from {HISTORY_START} to {allowed_end}"
                )
        if parsed["end_date"] < parsed["start_date"]:
            raise ApiError("Parameter 'end_date' must be after 'start_date'")
        return parsed["start_date"], parsed["end_date"]


class OpenMeteoHandler(BaseHTTPRequestHandler):
    """HTTP front of a `LocalOpenMeteo`: writes the replies it decides."""

    protocol_version = "HTTP/1.1"
    api: LocalOpenMeteo

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and benchmarks read counters, not access logs."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header tells the server's clock, as the instant the answer was made."""
        return formatdate(timestamp or self.api.clock.now().timestamp(), usegmt=True)

    def _write(self, reply: Reply) -> None:
        if reply.ending == "hang":
            self.close_connection = True
            hang(reply.hang_seconds)
            return
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
        self.send_header("Content-Length", str(len(reply.body)))
        for key, val in headers.items():
            self.send_header(key, val)
        self.end_headers()
        if reply.ending == "drip":
            drip(self.wfile, reply.body, reply.hang_seconds, reply.slow)
            self.close_connection = True
            return
        if reply.ending == "reset":
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        plain = self.api.plain_answer(url.path)
        if plain:
            return self._write(json_reply(*plain))
        if url.path != "/v1/air-quality":
            return self._write(error_reply(404, f"Not found: {url.path}"))
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        return self._write(air_quality_reply(self.api, query))

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/_control/faults":
            return self._write(error_reply(404, "Not found"))
        length = int(self.headers.get("Content-Length", 0))
        spec = json.loads(self.rfile.read(length) or b"{}")
        try:
            self.api.set_faults(*spec.get("faults", []), permanent=bool(spec.get("permanent")))
        except ValueError as exc:
            return self._write(error_reply(400, str(exc)))
        return self._write(json_reply(200, {"ok": True}))

    def do_DELETE(self) -> None:
        self.api.clear_faults()
        return self._write(json_reply(200, {"ok": True}))


def drip(out: Any, body: bytes, every: float, slow: int) -> None:
    """Write `body`'s first `slow` bytes one every `every` seconds, then the rest at once."""
    try:
        for index in range(min(slow, len(body))):
            out.write(body[index : index + 1])
            out.flush()
            time.sleep(every)
        out.write(body[slow:])
        out.flush()
    except OSError:
        return  # the client hung up, as it should at its deadline


def _handler_for(server: LocalOpenMeteo) -> type[BaseHTTPRequestHandler]:
    """A handler class bound to `server` (the HTTP server makes one instance per request)."""
    return type("Handler", (OpenMeteoHandler,), {"api": server})


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted: `python -m aqi_assets.dev.local_open_meteo --port 8765`."""
    parser = argparse.ArgumentParser(description="Local Open-Meteo air-quality server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--now", type=datetime.fromisoformat, help="freeze the model clock, e.g. 2026-03-10T09:30Z"
    )
    parser.add_argument(
        "--rate-limits", default="off", help="Open-Meteo's limits, e.g. 600/min,5000/h,10000/d"
    )
    args = parser.parse_args(argv)
    server = LocalOpenMeteo(args.host, args.port, now=args.now).start()
    server.limiter.configure(args.rate_limits)
    print(f"Local Open-Meteo serving at {server.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
