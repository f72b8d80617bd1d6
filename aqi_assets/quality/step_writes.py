"""Steps that write several tables: every table's blocking checks before the first commit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame

from aqi_assets.catalog.table_spec import TableSpec
from aqi_assets.quality.publish import (
    Audit,
    BlockingCheckFailed,
    Staged,
    commit_staged,
    failed_names,
    stage_window,
)
from resources.spark.spark_resource import SparkIcebergResource


@dataclass(frozen=True)
class Pending:
    """One table of a step that writes several: its frame, window, checks' inputs and extra
    metadata."""

    table: TableSpec
    df: DataFrame
    start: date | datetime
    end: date | datetime
    audit: Audit = field(default_factory=Audit)
    extra: Mapping[str, Any] = field(default_factory=dict)


def publish_together(
    spark: SparkIcebergResource,
    pending: Sequence[Pending],
    context: dg.AssetExecutionContext | None = None,
) -> Iterator[dg.MaterializeResult]:
    """Publish several tables of one step: every table's blocking checks run before the first
    commit, so a failure leaves all of them at their previous snapshot.

    Iceberg commits one table at a time: each result is yielded as soon as its table is
    committed, and a later commit that fails says which tables did change.
    """
    staged: list[Staged] = []
    failures: list[BlockingCheckFailed] = []
    try:
        for p in pending:
            try:
                staged.append(stage_window(spark, p.table, p.df, p.start, p.end, p.audit))
            except BlockingCheckFailed as failure:
                failures.append(failure)
        if failures:
            results = [r for f in failures for r in f.results]
            kept = ", ".join(spark.table(*p.table.table) for p in pending)
            raise BlockingCheckFailed(
                f"Blocking checks failed: {failed_names(results)}. Nothing was written: {kept} "
                "keep their previous snapshots. The check results list the offending keys.",
                results,
            )
        committed: list[str] = []
        for p, ready in zip(pending, staged, strict=True):
            try:
                result = commit_staged(ready, context, **p.extra)
            except dg.Failure as exc:
                raise dg.Failure(
                    _partial(committed, p, exc.description), allow_retries=exc.allow_retries
                ) from exc
            except Exception as exc:
                raise dg.Failure(_partial(committed, p, str(exc))) from exc
            committed.append(p.table.asset)
            yield result
    finally:
        for ready in staged:
            ready.release()


def _partial(committed: Sequence[str], failed: Pending, reason: str | None) -> str:
    done = ", ".join(committed) or "none"
    return (
        f"{failed.table.asset} was not written ({reason}). Committed before it in this step: "
        f"{done}; the other tables keep their previous snapshots."
    )
