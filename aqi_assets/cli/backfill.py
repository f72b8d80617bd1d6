"""`aqi backfill`: what to select, how to launch it (backfill or one run), how far it has got."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from aqi_assets.catalog import registry
from aqi_assets.cli.graphql_queries import AssetNode, AssetRange, DagsterApi, DagsterApiError
from aqi_assets.orchestration.jobs import LAKEHOUSE_JOB
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

SUCCESS = {"COMPLETED_SUCCESS", "COMPLETED"}
FAILURE = {"FAILED", "COMPLETED_FAILED", "CANCELED"}
RUN_ENDED = {"SUCCESS", "FAILURE", "CANCELED"}
# Run statuses in the vocabulary of backfill statuses, so one Progress describes both.
RUN_AS_BACKFILL_STATUS = {
    "SUCCESS": "COMPLETED_SUCCESS",
    "FAILURE": "FAILED",
    "CANCELED": "CANCELED",
}


class BackfillError(DagsterApiError):
    """The backfill could not be launched or watched."""


@dataclass(frozen=True)
class Progress:
    """Backfill or run state: status and partitions (asset x day) done out of targeted.

    A backfill is finished once every targeted partition is materialized (the daemon marks it
    done on its next tick); a run only when it has ended (its checks may still fail it).
    """

    status: str
    done: int
    failed: int
    total: int
    error: str | None = None
    done_when_all_in: bool = True

    @property
    def finished(self) -> bool:
        """Ended, or (a backfill) every targeted partition materialized."""
        all_in = self.done_when_all_in and self.total > 0 and self.done == self.total
        return self.status in SUCCESS | FAILURE or all_in

    @property
    def succeeded(self) -> bool:
        """Ended well: no failed partition and every partition materialized."""
        return self.finished and self.failed == 0 and self.status not in FAILURE

    def summary(self) -> str:
        """`12/36 partitions, 0 failed, REQUESTED`."""
        return f"{self.done}/{self.total} partitions, {self.failed} failed, {self.status}"


def default_selection(nodes: Sequence[AssetNode]) -> list[str]:
    """Every partitioned table, plus the reference dimensions never built yet.

    Reference dimensions do not depend on the day range; re-building them in every backfill would
    cost the backfill a second wave of runs (their dependents wait for them).
    """
    built = {n.key for n in nodes if n.materialized}
    reference = [key for key in registry.REFERENCE_ASSETS if key not in built]
    return sorted([*registry.PARTITIONED_ASSETS, *reference])


def plan_selection(
    api: DagsterApi, start: date, end: date, select: Sequence[str] | None
) -> list[AssetRange]:
    """The assets to launch: the day range for partitioned ones, whole for the others."""
    nodes = api.asset_nodes()
    if not nodes:
        errors = api.location_load_errors()
        raise BackfillError(
            "The Dagster instance has no assets"
            + (f"; the code location failed to load: {'; '.join(errors)}" if errors else ".")
        )
    known = {n.key: n for n in nodes}
    wanted = list(select) if select else default_selection(nodes)
    unknown = [key for key in wanted if key not in known or key not in registry.BY_ASSET]
    if unknown:
        raise BackfillError(
            f"Unknown assets {unknown}; known: {sorted(set(known) & set(registry.BY_ASSET))}"
        )
    return [AssetRange(key, (start, end) if known[key].partitioned else None) for key in wanted]


def launch_backfill(
    api: DagsterApi, start: date, end: date, select: Sequence[str] | None, title: str
) -> str:
    """Launch an asset backfill of [start, end] (inclusive days) and return its id."""
    return api.launch_partition_backfill(plan_selection(api, start, end, select), title)


@dataclass(frozen=True)
class RangeRun:
    """One run over a partition range: its id and how many (asset, partition) pairs it targets."""

    api: DagsterApi
    run_id: str
    total: int

    def progress(self) -> Progress:
        """Run status and the partitions it has materialized so far (one event per partition)."""
        run = self.api.run(self.run_id)
        status = RUN_AS_BACKFILL_STATUS.get(run.status, run.status)
        failed = self.total - run.materializations if status in FAILURE else 0
        return Progress(status, run.materializations, failed, self.total, done_when_all_in=False)


def launch_range_run(
    api: DagsterApi, start: date, end: date, select: Sequence[str] | None
) -> RangeRun:
    """Launch one run over [start, end] (inclusive days), as the UI's "Launch as: Single run" does.

    It goes through the run queue straight away instead of waiting for the backfill daemon's
    next tick (every 5 s with the project's dagster.yaml); with every partitioned asset on a
    single-run backfill policy it does the same work as a backfill.
    """
    selection = plan_selection(api, start, end, select)
    days = (end - start).days + 1
    total = sum(days if asset.days else 1 for asset in selection)
    tags = {RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()}
    run_id = api.launch_run(LAKEHOUSE_JOB, [asset.key for asset in selection], tags)
    return RangeRun(api, run_id, total)


def backfill_progress(api: DagsterApi, backfill_id: str) -> Progress:
    """Current status and partition counts of a backfill."""
    status = api.backfill(backfill_id)
    return Progress(status.status, status.done, status.failed, status.total, status.error)


@dataclass
class RunMaterializations:
    """Partitions the backfill's ended runs materialized, read from each run's events once.

    The daemon counts a backfill's partitions on its ticks (every 5 s here); the runs' own events
    say sooner that every partition is in.
    """

    api: DagsterApi
    backfill_id: str
    by_run: dict[str, set[tuple[str, str | None]]] = field(default_factory=dict)

    def count(self) -> int:
        """Distinct (asset, partition) pairs materialized by the backfill's ended runs."""
        for run in self.api.runs(self.backfill_id):
            if run.status in RUN_ENDED and run.run_id not in self.by_run:
                self.by_run[run.run_id] = self.api.run_materializations(run.run_id)
        return len(set().union(*self.by_run.values()))


def backfill_tracker(api: DagsterApi, backfill_id: str) -> Callable[[], Progress]:
    """Reads a backfill's progress, counting partitions from its ended runs between daemon ticks."""
    materialized = RunMaterializations(api, backfill_id)

    def current() -> Progress:
        progress = backfill_progress(api, backfill_id)
        if progress.finished:
            return progress
        return replace(progress, done=max(progress.done, materialized.count()))

    return current
