"""The instance's run coordinator: Dagster's queued one, whose `backfill_interval_seconds` also
sets how often the backfill daemon looks for work (Dagster fixes 30 s), so a backfill launched in
the UI starts within seconds. On another Dagster release the daemon keeps its own interval.
"""

from __future__ import annotations

import sys
from typing import Any

import dagster as dg
from dagster import Field
from dagster._serdes import ConfigurableClassData

from aqi_assets.compat.dagster_release import is_pinned_release, warn_fallback

# A backfill daemon tick is one storage query while no backfill is in flight.
DEFAULT_BACKFILL_INTERVAL_SECONDS = 5


class QueuedRunCoordinator(dg.QueuedRunCoordinator):
    """Dagster's queued run coordinator; `backfill_interval_seconds` paces the backfill daemon.

    The daemon process builds its instance, and so this coordinator, before its loops start.
    """

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        interval = Field(int, default_value=DEFAULT_BACKFILL_INTERVAL_SECONDS, is_required=False)
        return {**super().config_type(), "backfill_interval_seconds": interval}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> dg.QueuedRunCoordinator:
        interval = config_value.get("backfill_interval_seconds", DEFAULT_BACKFILL_INTERVAL_SECONDS)
        set_backfill_interval(interval)
        return super().from_config_value(inst_data, config_value)


if is_pinned_release():

    def set_backfill_interval(seconds: int) -> None:
        """In the daemon process (its controller loaded), the backfill loop waits `seconds`."""
        controller = sys.modules.get("dagster._daemon.controller")
        if controller is not None:
            # Read as the backfill loop starts; otherwise only automation without sensors reads it.
            controller.DEFAULT_DAEMON_INTERVAL_SECONDS = seconds

else:
    warn_fallback(__name__, "backfills wait for Dagster's 30 s daemon tick")

    def set_backfill_interval(seconds: int) -> None:
        """Another release keeps Dagster's own backfill interval."""
