"""Write an asset's frame to its Iceberg table behind its blocking checks, and describe the commit."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame

from aqi_assets.catalog.registry import TableSpec
from aqi_assets.quality.blocking_checks import FrameCheck, evaluate_frame_checks
from aqi_assets.quality.metadata import days_in, write_metadata
from resources.iceberg.window_writes import (
    WriteResult,
    replace_table,
    replace_window,
    window_condition,
)
from resources.spark.spark_resource import SparkIcebergResource

WarningChecks = Callable[[WriteResult, DataFrame], list[dg.AssetCheckResult]]


class BlockingCheckFailed(dg.Failure):
    """A blocking check failed: nothing was committed. `results` are the check results to report."""

    def __init__(self, description: str, results: list[dg.AssetCheckResult]) -> None:
        super().__init__(description, metadata={"failed_checks": failed_names(results)})
        self.results = results


def failed_names(results: Sequence[dg.AssetCheckResult]) -> str:
    """Comma-separated names of the checks that did not pass."""
    return ", ".join(r.check_name for r in results if not r.passed)


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
    """Checks around one commit: blocking ones on the frame before it, warnings after it.

    `example_columns` are shown beside offending rows (default: the table's key). With blocking
    checks the frame is cached for the checks and the write to share, unless `cache_frame` is
    False: a frame derived cheaply from one the caller cached already.
    """

    table: TableSpec
    example_columns: Sequence[str] = ()
    cache_frame: bool = True
    blocking: Sequence[FrameCheck] = ()
    warnings: WarningChecks | None = None
    extra_results: list[dg.AssetCheckResult] = field(default_factory=list)


def _audit_before_commit(audit: Audit, frame: DataFrame, table: str) -> list[dg.AssetCheckResult]:
    columns = audit.example_columns or audit.table.keys
    results = evaluate_frame_checks(audit.table, audit.blocking, frame, columns)
    if not all(r.passed for r in results):
        raise BlockingCheckFailed(
            f"Blocking checks failed on {audit.table.asset}: {failed_names(results)}. Nothing was "
            f"written: {table} keeps its previous snapshot. The check results list the offending "
            "keys.",
            results,
        )
    return results


def quality_score(results: Sequence[dg.AssetCheckResult]) -> float:
    """0-100: the share of this materialization's checks (blocking and warning) that passed.

    The one definition of `quality_score` in the project; the UI plots it per asset.
    """
    return round(100.0 * sum(r.passed for r in results) / len(results), 1) if results else 100.0


def publish_window(
    spark: SparkIcebergResource,
    table: TableSpec,
    df: DataFrame,
    start: date | datetime,
    end: date | datetime,
    audit: Audit | None = None,
    **extra: Any,
) -> dg.MaterializeResult:
    """Check, then replace the rows of [start, end) in `table` by `df` in one commit."""
    name = spark.table(*table.table)
    window_column = table.window_column
    if window_column is None:
        raise ValueError(f"{table.asset} is not partitioned: publish it with publish_table")
    cached = bool(audit and audit.blocking and audit.cache_frame)
    cheap = cached or bool(audit and not audit.cache_frame)
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    try:
        if cached:
            # Fill the cache in one job: the checks' branches and the write then read it.
            df.persist().count()
        results = _audit_before_commit(audit, df, name) if audit else []
        write = replace_window(df, name, window_column, start, end)
        table_window = spark.spark_session.table(name).where(
            window_condition(window_column, start, end)
        )
        # A cached frame holds exactly the rows just committed: warnings and the preview read
        # it instead of planning another scan of the table.
        written = df if cheap else table_window
        if audit:
            results += audit.extra_results
            if audit.warnings:
                results += audit.warnings(write, written)
        metadata = write_metadata(
            write, table_window, partitions=days_in(first, last), preview=written, **extra
        )
    finally:
        if cached:
            df.unpersist()
    if audit:
        metadata["quality_score"] = quality_score(results)
    return dg.MaterializeResult(asset_key=table.key, metadata=metadata, check_results=results)


def publish_table(
    spark: SparkIcebergResource, table: TableSpec, df: DataFrame, **extra: Any
) -> dg.MaterializeResult:
    """Replace the whole content of an unpartitioned `table` by `df` in one commit."""
    name = spark.table(*table.table)
    result = replace_table(df, name)
    return dg.MaterializeResult(
        asset_key=table.key,
        metadata=write_metadata(result, spark.spark_session.table(name), **extra),
    )
