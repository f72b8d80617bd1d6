"""Keep Open-Meteo credentials out of URLs shown to people and out of every log record.

The commercial API takes its key in the query string, so urllib3 would log it with the URL
(DEBUG on each request); a base URL may also carry `user:token@`. The client sends both, but
shows and logs only `public_url` forms, and a filter redacts them from urllib3's own records.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "***"
_KEY_IN_QUERY = re.compile(r"(?i)(apikey=)[^&\s\"']+")
# Loggers that format request URLs: urllib3's pool (DEBUG per request), its retry helper and
# redirect handling, and requests itself.
URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager", "requests")


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without `user:password@`, (user, password) or None)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def public_url(url: str) -> str:
    """`url` fit to show: no credentials in its authority, no API key in its query."""
    clean, _ = split_credentials(url)
    return _KEY_IN_QUERY.sub(rf"\1{REDACTED}", clean)


class SecretFilter(logging.Filter):
    """Rewrites a record's message with every known secret and `apikey=` value redacted."""

    def __init__(self) -> None:
        super().__init__("open-meteo-secrets")
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _KEY_IN_QUERY.sub(rf"\1{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = SecretFilter()


def protect(*secrets: str | None) -> None:
    """Redact `secrets` (and any `apikey=`) from urllib3's and requests' log records from now on.

    A filter on the emitting logger runs before any handler, the root logger's included.
    """
    _FILTER.secrets.update(s for s in secrets if s and len(s) >= 3)
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def redact(text: str) -> str:
    """`text` with every protected secret and `apikey=` value replaced (for error messages)."""
    return _FILTER.redact(text)
