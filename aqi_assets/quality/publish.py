"""Write an asset's frame to its Iceberg table behind its blocking checks, and describe the commit."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame

from aqi_assets.catalog.columns import column_descriptions
from aqi_assets.catalog.registry import TableSpec
from aqi_assets.catalog.table_spec import CheckDeclarationError
from aqi_assets.quality.blocking_checks import FrameCheck, evaluate_frame_checks
from aqi_assets.quality.declared_checks import CheckInputs, PlannedChecks, plan_checks
from aqi_assets.quality.metadata import days_in, partition_row_counts, write_metadata
from resources.iceberg.window_writes import (
    SchemaMismatchError,
    replace_table,
    replace_window,
    window_condition,
)
from resources.spark.spark_resource import SparkIcebergResource


class BlockingCheckFailed(dg.Failure):
    """A blocking check failed: nothing was committed. `results` are the check results to report."""

    def __init__(self, description: str, results: list[dg.AssetCheckResult]) -> None:
        super().__init__(description, metadata={"failed_checks": failed_names(results)})
        self.results = results


def failed_names(results: Sequence[dg.AssetCheckResult]) -> str:
    """Comma-separated names of the checks that did not pass."""
    return ", ".join(r.check_name for r in results if not r.passed)


@contextlib.contextmanager
def schema_failure() -> Iterator[None]:
    """A table whose schema differs from the frame fails the step without retries: a retry
    meets the same table."""
    try:
        yield
    except SchemaMismatchError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None


def gated(compute: Callable[..., Any]) -> Callable[..., Iterator[Any]]:
    """Wrap an asset body so blocking check results are reported before its step fails."""

    @functools.wraps(compute)
    def body(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            out = compute(*args, **kwargs)
            yield from (out if isinstance(out, Iterator) else [out])
        except BlockingCheckFailed as failure:
            yield from failure.results
            raise

    return body


@dataclass(frozen=True)
class Audit:
    """How the checks the registry declares on a table run around one commit: blocking ones on
    the frame before it, warnings after it.

    `inputs` feed those checks. `example_columns` are shown beside offending rows (default: the
    table's key). With blocking checks the frame is cached for the checks and the write to
    share, unless `cache_frame` is False: a frame derived cheaply from one the caller cached.
    """

    inputs: CheckInputs = field(default_factory=CheckInputs)
    example_columns: Sequence[str] = ()
    cache_frame: bool = True


def _audit_before_commit(
    table: TableSpec,
    checks: Sequence[FrameCheck],
    example_columns: Sequence[str],
    frame: DataFrame,
    name: str,
) -> list[dg.AssetCheckResult]:
    results = evaluate_frame_checks(table, checks, frame, example_columns or table.keys)
    if not all(r.passed for r in results):
        raise BlockingCheckFailed(
            f"Blocking checks failed on {table.asset}: {failed_names(results)}. Nothing was "
            f"written: {name} keeps its previous snapshot. The check results list the offending "
            "keys.",
            results,
        )
    return results


def quality_score(results: Sequence[dg.AssetCheckResult]) -> float:
    """0-100: the share of this materialization's checks (blocking and warning) that passed.

    The one definition of `quality_score` in the project; the UI plots it per asset.
    """
    return round(100.0 * sum(r.passed for r in results) / len(results), 1) if results else 100.0


@dataclass
class Staged:
    """A frame whose table's blocking checks passed, ready to replace [start, end) in one
    commit; `cached` when staging cached the frame (released by the commit)."""

    spark: SparkIcebergResource
    table: TableSpec
    df: DataFrame
    start: date | datetime
    end: date | datetime
    checks: PlannedChecks
    results: list[dg.AssetCheckResult]
    cached: bool
    cheap: bool

    def release(self) -> None:
        """Drop the cache staging filled (a no-op when it filled none)."""
        if self.cached:
            self.df.unpersist()


def stage_window(
    spark: SparkIcebergResource,
    table: TableSpec,
    df: DataFrame,
    start: date | datetime,
    end: date | datetime,
    audit: Audit | None = None,
) -> Staged:
    """Run the blocking checks `table` declares on `df`: BlockingCheckFailed, having written
    nothing, when one fails."""
    if table.window_column is None:
        raise ValueError(f"{table.asset} is not partitioned: publish it with publish_table")
    audit = audit or Audit()
    # Before any Spark work: a declared check the run cannot evaluate stops it here.
    checks = plan_checks(table, audit.inputs, start, end)
    cached = bool(checks.blocking) and audit.cache_frame
    if cached:
        # Fill the cache in one job: the checks' branches and the write then read it.
        df.persist().count()
    try:
        name = spark.table(*table.table)
        results = _audit_before_commit(table, checks.blocking, audit.example_columns, df, name)
    except BaseException:
        if cached:
            df.unpersist()
        raise
    cheap = cached or not audit.cache_frame
    return Staged(spark, table, df, start, end, checks, results, cached, cheap)


def commit_staged(
    staged: Staged, context: dg.AssetExecutionContext | None = None, **extra: Any
) -> dg.MaterializeResult:
    """Replace the staged window in one commit, then run the table's warning checks.

    With `context` (a partitioned run), each partition of the run gets its own
    `dagster/partition_row_count`, from one grouped count of the rows written.
    """
    spark, table, start, end = staged.spark, staged.table, staged.start, staged.end
    name = spark.table(*table.table)
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    try:
        with schema_failure():
            write = replace_window(
                staged.df, name, table.window_column, start, end, spark.schema_evolution
            )
        table_window = spark.spark_session.table(name).where(
            window_condition(table.window_column, start, end)
        )
        # A cached frame holds exactly the rows just committed: warnings, the preview and the
        # partition counts read it instead of planning another scan of the table.
        written = staged.df if staged.cheap else table_window
        results = staged.results + staged.checks.warn(write, written)
        metadata = write_metadata(
            write,
            table_window,
            partitions=days_in(first, last),
            preview=written,
            descriptions=column_descriptions(table),
            **extra,
        )
        if context is not None:
            counts = partition_row_counts(written, table.window_column, context.partition_keys)
            for key, count in counts.items():
                context.add_asset_metadata(
                    {"dagster/partition_row_count": count}, asset_key=table.key, partition_key=key
                )
    finally:
        staged.release()
    if table.checks:
        metadata["quality_score"] = quality_score(results)
    return dg.MaterializeResult(asset_key=table.key, metadata=metadata, check_results=results)


def publish_window(
    spark: SparkIcebergResource,
    table: TableSpec,
    df: DataFrame,
    start: date | datetime,
    end: date | datetime,
    audit: Audit | None = None,
    context: dg.AssetExecutionContext | None = None,
    **extra: Any,
) -> dg.MaterializeResult:
    """Run the checks `table` declares around replacing the rows of [start, end) by `df` in
    one commit (blocking ones first: a failure skips the commit)."""
    return commit_staged(stage_window(spark, table, df, start, end, audit), context, **extra)


def publish_table(
    spark: SparkIcebergResource, table: TableSpec, df: DataFrame, **extra: Any
) -> dg.MaterializeResult:
    """Replace the whole content of an unpartitioned `table` by `df` in one commit."""
    if table.checks:
        raise CheckDeclarationError(
            f"{table.asset} declares checks, which publish_table does not run: publish it with "
            "publish_window, or make publish_table run them before declaring any."
        )
    name = spark.table(*table.table)
    with schema_failure():
        result = replace_table(df, name, spark.schema_evolution)
    return dg.MaterializeResult(
        asset_key=table.key,
        metadata=write_metadata(
            result,
            spark.spark_session.table(name),
            descriptions=column_descriptions(table),
            **extra,
        ),
    )
