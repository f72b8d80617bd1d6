"""The Dagster release the compat modules are written for, and the one warning each gives off it."""

from __future__ import annotations

import warnings

import dagster as dg

PINNED_DAGSTER = "1.13.27"


def is_pinned_release() -> bool:
    """Whether the installed Dagster is the release the compat modules reach into."""
    return dg.__version__ == PINNED_DAGSTER


def warn_fallback(module: str, fallback: str) -> None:
    """One warning, at import, that `module` runs its public fallback on this Dagster release."""
    warnings.warn(
        f"{module} is written for dagster {PINNED_DAGSTER}, this is {dg.__version__}: {fallback}",
        stacklevel=3,
    )
