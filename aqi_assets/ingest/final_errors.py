"""Errors a retry cannot fix, turned into failures that are not retried.

The ingest assets retry a step (API_RETRY_POLICY) for what may pass: a lost executor, a commit
conflict. An answer that Spark cannot read fails the same way each time, and every retry would
ask Open-Meteo again, spending the API's budget for nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pyspark.errors import (
    AnalysisException,
    ArithmeticException,
    DateTimeException,
    NumberFormatException,
)

from aqi_assets.transforms.bronze_rows import UNREADABLE_ANSWER
from resources.open_meteo.redaction import redact

# Spark's errors that come from the data or the plan, never from the cluster's state.
DETERMINISTIC_SPARK_ERRORS = (
    AnalysisException,
    ArithmeticException,
    DateTimeException,
    NumberFormatException,
)
# `F.raise_error` (bronze_rows: a series Spark cannot read): raised in a task, it reaches Python
# wrapped in a job failure of any class. Compiled code names its error class; interpreted
# expressions (the short-run driver) raise a plain RuntimeException, so its text says it too.
RAISED_BY_THE_PIPELINE = ("USER_RAISED_EXCEPTION", UNREADABLE_ANSWER)
SHOWN_LINES = 3


def is_deterministic(exc: BaseException) -> bool:
    """Whether `exc` would happen again on the same answer."""
    text = str(exc)
    return isinstance(exc, DETERMINISTIC_SPARK_ERRORS) or any(
        marker in text for marker in RAISED_BY_THE_PIPELINE
    )


@contextmanager
def no_retry_for_answer_faults(what: str) -> Iterator[None]:
    """Re-raise a deterministic Spark error in `what` as a failure that is not retried."""
    try:
        yield
        return
    except Exception as exc:
        if not is_deterministic(exc):
            raise
        first_lines = "\n".join(str(exc).strip().splitlines()[:SHOWN_LINES])
        message = (
            f"{what} failed on what Open-Meteo answered, so a retry would fail the same way "
            f"(and spend the API's budget again); not retried. Spark said: {first_lines}"
        )
    # Raised outside the `except`: the failure carries the message, not the JVM's stack.
    raise dg.Failure(redact(message), allow_retries=False)
