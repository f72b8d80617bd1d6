"""What can go wrong using Open-Meteo, each error's message redacted of every credential.

Messages become `dg.Failure` text in the event log; an answer quoted in one may echo the
request's URL, API key included (a proxy's error page). The base class redacts every message.
"""

from __future__ import annotations

from datetime import datetime

from resources.open_meteo.redaction import redact


class OpenMeteoError(RuntimeError):
    """Open-Meteo could not be used; the message says why (never containing a credential)."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class OpenMeteoResponseError(OpenMeteoError):
    """The response does not have the documented shape, or misses data that was requested."""


class OpenMeteoAPIError(OpenMeteoError):
    """Open-Meteo answered with an error status; `reason` is the API's own explanation."""

    def __init__(self, message: str, status_code: int, reason: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = redact(reason)
        self.attempts = attempts


class OpenMeteoBudgetError(OpenMeteoError):
    """The hour's or day's budget is spent and the deadline does not allow waiting for it."""

    def __init__(self, message: str, window: str, resume_at: datetime) -> None:
        super().__init__(message)
        self.window = window
        self.resume_at = resume_at


class OpenMeteoDeadlineError(OpenMeteoError):
    """No answer within the request's deadline."""
