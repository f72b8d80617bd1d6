"""The Open-Meteo plan `aqi backfill` shows before it launches, from the client's own cost model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from aqi_assets.catalog import registry
from aqi_assets.config.profiles import resources_for
from aqi_assets.config.reference import load_locations
from aqi_assets.config.settings import Settings
from resources.open_meteo.fetch_plan import FetchPlan

# The tables whose runs call the API; every other table reads the lakehouse or reference files.
INGEST_ASSETS = tuple(t.asset for t in registry.tables_where(refresh=registry.Refresh.INGEST))


def calls_the_api(select: Sequence[str] | None) -> bool:
    """Whether the selection (None: the default, every partitioned table) fetches from the API."""
    return select is None or any(key in INGEST_ASSETS for key in select)


def backfill_plan(settings: Settings, start: date, end: date) -> FetchPlan:
    """The requests the ingest of days start..end (inclusive) makes, placed in the budget's windows.

    The client is configured as the code location configures it for `settings`, so the plan is
    the one its run will follow (a single-run backfill fetches the whole range in one run).
    """
    client = resources_for(settings)["open_meteo"]
    return client.plan(load_locations(settings.locations_path), start, end)


def over_budget(plan: FetchPlan) -> str | None:
    """Which budget the plan needs more than (`the hour's`, `the day's`), or None."""
    spans = [
        name for name, over in (("hour", plan.exceeds_hour), ("day", plan.exceeds_day)) if over
    ]
    return " and ".join(f"the {name}'s" for name in spans) or None
