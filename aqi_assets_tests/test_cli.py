"""`aqi backfill`: progress bar, when a backfill counts as finished, argument errors."""

from __future__ import annotations

import pytest

from aqi_assets.cli import Progress, default_selection, main, render


def test_progress_bar_shows_partitions_done_out_of_total() -> None:
    line = render(Progress("REQUESTED", done=12, failed=0, total=36), width=12)
    assert line == "[####........] 12/36 partitions, 0 failed, REQUESTED"


@pytest.mark.parametrize(
    ("progress", "finished", "succeeded"),
    [
        (Progress("REQUESTED", 10, 0, 36), False, False),
        (Progress("REQUESTED", 36, 0, 36), True, True),
        (Progress("COMPLETED_SUCCESS", 36, 0, 36), True, True),
        (Progress("COMPLETED_FAILED", 30, 6, 36), True, False),
        (Progress("CANCELED", 3, 0, 36), True, False),
        (Progress("REQUESTED", 0, 0, 0), False, False),
    ],
)
def test_a_backfill_is_done_when_every_partition_is_in(
    progress: Progress, finished: bool, succeeded: bool
) -> None:
    assert progress.finished is finished
    assert progress.succeeded is succeeded


def test_end_before_start_is_refused(capsys) -> None:
    assert main(["backfill", "2024-02-01", "2024-01-01"]) == 2
    assert "before start" in capsys.readouterr().err


def node(key: str, partitioned: bool, materialized: bool) -> dict:
    return {
        "assetKey": {"path": [key]},
        "isPartitioned": partitioned,
        "assetMaterializations": [{"timestamp": "1"}] if materialized else [],
    }


def test_default_selection_rebuilds_reference_dimensions_only_when_missing() -> None:
    nodes = [
        node("bronze_raw", partitioned=True, materialized=True),
        node("fact_hourly", partitioned=True, materialized=False),
        node("dim_location", partitioned=False, materialized=True),
        node("dim_time", partitioned=False, materialized=False),
    ]
    assert default_selection(nodes) == ["bronze_raw", "dim_time", "fact_hourly"]


def test_a_run_is_finished_only_when_it_has_ended() -> None:
    running = Progress("STARTED", 36, 0, 36, done_when_all_in=False)
    assert not running.finished
    ended = Progress("COMPLETED_SUCCESS", 36, 0, 36, done_when_all_in=False)
    assert ended.finished
    assert ended.succeeded
    failed = Progress("FAILED", 30, 6, 36, done_when_all_in=False)
    assert failed.finished
    assert not failed.succeeded
