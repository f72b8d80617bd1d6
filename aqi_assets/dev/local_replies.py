"""What the local Open-Meteo server answers to one air-quality request, faults included.

The HTTP handler only writes a `Reply`; deciding it (queued faults, the rate limiter, the
answer itself and the ways a fault spoils it) happens here, one step per function.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from aqi_assets.dev.answer_faults import ANSWER_FAULTS, spoil


class ApiError(Exception):
    """An Open-Meteo style error answer."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Reply:
    """An answer to write: status, body, headers, and how the connection ends."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # "complete", "reset" (cut mid-body), "hang" (accept and never answer) or "drip" (the
    # body one byte every `hang_seconds`)
    ending: str = "complete"
    hang_seconds: float = 0.0
    slow: int = 0


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """A complete JSON answer, compact as Open-Meteo writes it."""
    return Reply(status, orjson.dumps(payload), headers or {})


def error_reply(status: int, reason: str, headers: dict[str, str] | None = None) -> Reply:
    """Open-Meteo's error body: `{"error": true, "reason": ...}`."""
    return json_reply(status, {"error": True, "reason": reason}, headers)


class AirQualityServer(Protocol):
    """What a reply needs from the server."""

    limiter: Any

    def next_fault(self) -> dict[str, Any] | None: ...
    def log_request(self, query: dict[str, str]) -> None: ...
    def answer(self, query: dict[str, str]) -> Any: ...


def echo_page(status: int, query: dict[str, str]) -> Reply:
    """A proxy's HTML error page listing the request's parameters, the API key among them."""
    listed = "".join(f"<li>{k}={v}</li>" for k, v in sorted(query.items()))
    page = f"<html><h1>{status} Denied by proxy</h1><ul>{listed}</ul></html>"
    return Reply(status, page.encode(), {"Content-Type": "text/html"})


def before_answer(fault: dict[str, Any] | None, query: dict[str, str]) -> Reply | None:
    """A fault that replaces the answer (status, hang, echo), after any delay it asks for."""
    if not fault:
        return None
    kind = fault["kind"]
    if kind == "echo_query":
        return echo_page(int(fault.get("status", 403)), query)
    if kind == "status":
        retry_after = fault.get("retry_after")
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        reason = "Too many requests" if fault["status"] == 429 else "Internal server error"
        return error_reply(fault["status"], reason, headers)
    if kind == "delay":
        time.sleep(float(fault.get("seconds", 1)))
    if kind == "hang":
        return Reply(0, b"", ending="hang", hang_seconds=float(fault.get("seconds", 30)))
    return None


def _empty_hourly(body: Any) -> Any:
    for item in body if isinstance(body, list) else [body]:
        item["hourly"] = {k: [] for k in item["hourly"]}
    return body


BODY_FAULTS: dict[str, Callable[[Any], Any]] = {
    "wrong_length": lambda body: body[:-1] if isinstance(body, list) else body,
    "empty_hourly": _empty_hourly,
}


def spoiled(body: Any, fault: dict[str, Any] | None) -> Reply:
    """The answer as a fault that damages it leaves it."""
    kind = fault["kind"] if fault else None
    if kind == "malformed_json":
        return Reply(200, orjson.dumps(body)[:-7] + b"<html>")
    if kind in BODY_FAULTS:
        body = BODY_FAULTS[kind](body)
    if kind in ANSWER_FAULTS:
        body = spoil(body, fault)
    if kind == "reset":
        return Reply(200, orjson.dumps(body), ending="reset")
    if kind == "drip":
        text = orjson.dumps(body)
        # The first `bytes` a byte every `every` seconds, then the rest (tests end either way).
        slow = int(fault.get("bytes", 12))
        return Reply(200, text, ending="drip", hang_seconds=fault.get("every", 1.0), slow=slow)
    if kind == "oversized":  # valid JSON, padded with `bytes` of whitespace
        return Reply(200, orjson.dumps(body) + b" " * int(fault.get("bytes", 1 << 20)))
    return json_reply(200, body)


def air_quality_reply(server: AirQualityServer, query: dict[str, str]) -> Reply:
    """The reply to `GET /v1/air-quality?query`: faults first, then the limiter, then the data."""
    fault = server.next_fault()
    server.log_request(query)
    early = before_answer(fault, query)
    if early:
        return early
    refusal = server.limiter.refusal()
    if refusal:
        return error_reply(429, refusal)
    try:
        body = server.answer(query)
        server.limiter.count(query)
    except ApiError as exc:
        return error_reply(exc.status, exc.reason)
    return spoiled(body, fault)
