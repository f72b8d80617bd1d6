"""Read an answer's body within the request's deadline and a size cap.

`requests` applies its timeout to each socket read, so a server sending a byte a second never
trips it; and a body has no size limit of its own (its text, parsed tree and re-encoded items
take about three times its size). The body is streamed in chunks, each read checked against
the deadline and the cap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import requests

from resources.open_meteo.redaction import redact

# A generous bound of one hourly value in Open-Meteo's JSON (`123.45,` is 7 bytes; a time
# text 19): the cap is far above any real answer and far below what would exhaust memory.
BYTES_PER_VALUE = 32
# Per location: coordinates, units, zone and the other fields around the series.
BYTES_PER_LOCATION = 8192
CHUNK_BYTES = 64 * 1024
# Error pages are read this far (a proxy's may be large); only their start is ever shown.
ERROR_PAGE_BYTES = 64 * 1024
SHOWN_CHARACTERS = 200


class BodyTooLarge(Exception):
    """The body passed its cap (the caller words the error with the request's shape)."""

    def __init__(self, read: int) -> None:
        super().__init__(read)
        self.read = read


class BodyTooSlow(Exception):
    """The deadline passed while the body was still arriving."""

    def __init__(self, read: int) -> None:
        super().__init__(read)
        self.read = read


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes an answer may take, and the request shape it was derived from."""

    bytes: int
    shape: str

    @classmethod
    def of(cls, n_locations: int, hours: int, n_variables: int) -> BodyLimit:
        """The cap of an answer of `n_locations` x `hours` x `n_variables` (plus time)."""
        per_location = BYTES_PER_LOCATION + hours * (n_variables + 1) * BYTES_PER_VALUE
        shape = (
            f"{n_locations} locations x {hours} hours x {n_variables} variables "
            f"({BYTES_PER_VALUE} bytes a value at most)"
        )
        return cls(n_locations * per_location, shape)


def error_reason(body: bytes) -> str:
    """The API's `reason`, else the start of the page, redacted (pages may echo the URL)."""
    text = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("reason"):
        return redact(str(parsed["reason"]))
    return redact(text[:SHOWN_CHARACTERS]) or "empty body"


def _bound_socket(response: requests.Response, seconds: float) -> None:
    """Bound the next socket read by what is left of the deadline, where urllib3 exposes it."""
    sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(0.01, seconds))


def read_body(
    response: requests.Response,
    cap: int | None,
    left: Callable[[], float],
    truncate: bool = False,
) -> bytes:
    """The decoded body of a streamed `response`; past `cap` bytes BodyTooLarge (or, with
    `truncate`, its first `cap` bytes), BodyTooSlow once `left()` (seconds of the deadline)
    reaches zero. Closes the response either way."""
    cap = cap if cap is not None else float("inf")
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap and not truncate:
            raise BodyTooLarge(int(declared))  # refused before a byte of it is read
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = left()
            if remaining <= 0:
                raise BodyTooSlow(size)
            _bound_socket(response, remaining)
            # read1: at most one socket read, so a drip returns each byte and the deadline
            # is checked between them (read(n) would block until n bytes arrived).
            chunk = response.raw.read1(CHUNK_BYTES, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            chunks.append(chunk)
            if size > cap:
                if truncate:
                    break
                raise BodyTooLarge(size)
        return b"".join(chunks)
    finally:
        response.close()
