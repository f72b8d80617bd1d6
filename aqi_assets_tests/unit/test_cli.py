"""`aqi backfill`: progress display, when a backfill counts as finished, selection, argument errors."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from aqi_assets.catalog import registry
from aqi_assets.cli.backfill import BackfillError, Progress, default_selection
from aqi_assets.cli.graphql_queries import AssetNode
from aqi_assets.cli.main import main
from aqi_assets.cli.progress import follow
from aqi_assets.dev.dagster_dev import free_port


def states(*progress: Progress) -> Iterator[Progress]:
    yield from progress


def test_a_log_gets_one_line_per_change_of_progress() -> None:
    out = io.StringIO()
    seen = states(
        Progress("REQUESTED", 0, 0, 36),
        Progress("REQUESTED", 0, 0, 36),
        Progress("REQUESTED", 12, 0, 36),
        Progress("COMPLETED_SUCCESS", 36, 0, 36),
    )
    final = follow(lambda: next(seen), "backfill b1", 0, 60, Console(file=out, width=40))
    assert final.succeeded
    assert out.getvalue().splitlines() == [
        "backfill b1: 0/36 partitions, 0 failed, REQUESTED",
        "backfill b1: 12/36 partitions, 0 failed, REQUESTED",
        "backfill b1: 36/36 partitions, 0 failed, COMPLETED_SUCCESS",
    ]


def test_a_terminal_gets_a_progress_bar_that_ends_at_the_last_state() -> None:
    out = io.StringIO()
    seen = states(Progress("STARTED", 5, 0, 24), Progress("FAILED", 20, 4, 24))
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    final = follow(lambda: next(seen), "run r1", 0, 60, console)
    assert not final.succeeded
    assert "━" in out.getvalue()
    assert "20/24 partitions, 4 failed, FAILED" in out.getvalue()


def test_watching_gives_up_after_the_timeout() -> None:
    out = io.StringIO()
    with pytest.raises(BackfillError, match="still REQUESTED after 0s"):
        follow(lambda: Progress("REQUESTED", 1, 0, 36), "backfill b2", 0, 0, Console(file=out))


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


def test_without_a_ui_the_error_says_what_to_start(capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["backfill", "2024-01-01", "2024-01-03", "--url", url]) == 1
    err = capsys.readouterr().err
    assert f"Cannot reach the Dagster UI at {url}" in err
    assert "scripts/dev" in err


def test_a_url_that_is_not_http_is_refused(capsys) -> None:
    assert main(["backfill", "2024-01-01", "2024-01-03", "--url", "localhost"]) == 1
    assert "is not an http(s) URL" in capsys.readouterr().err


def test_default_selection_rebuilds_reference_dimensions_only_when_missing() -> None:
    built, missing = registry.REFERENCE_ASSETS[0], registry.REFERENCE_ASSETS[1:]
    nodes = [
        AssetNode(registry.PARTITIONED_ASSETS[0], partitioned=True, materialized=True),
        AssetNode(registry.PARTITIONED_ASSETS[1], partitioned=True, materialized=False),
        AssetNode(built, partitioned=False, materialized=True),
    ]
    assert default_selection(nodes) == sorted([*registry.PARTITIONED_ASSETS, *missing])


def test_a_run_is_finished_only_when_it_has_ended() -> None:
    running = Progress("STARTED", 36, 0, 36, done_when_all_in=False)
    assert not running.finished
    ended = Progress("COMPLETED_SUCCESS", 36, 0, 36, done_when_all_in=False)
    assert ended.finished
    assert ended.succeeded
    failed = Progress("FAILED", 30, 6, 36, done_when_all_in=False)
    assert failed.finished
    assert not failed.succeeded
