"""Watching a backfill or a run: a `rich` progress bar on a terminal, one line per change in a log."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as Bar

from aqi_assets.cli.backfill import BackfillError, Progress, backfill_tracker
from aqi_assets.cli.graphql_queries import DagsterApi


class ProgressView:
    """Shows successive `Progress` states of one backfill or run on `console`."""

    def __init__(self, console: Console, what: str) -> None:
        self.console = console
        self.what = what
        self.last_line = ""
        self.bar: Bar | None = None
        self.task = None
        if console.is_terminal:
            self.bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("partitions, {task.fields[failed]} failed, {task.fields[status]}"),
                TimeElapsedColumn(),
                console=console,
            )
            self.task = self.bar.add_task(what, total=None, failed=0, status="")

    def __enter__(self) -> ProgressView:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.bar:
            self.bar.stop()

    def show(self, progress: Progress) -> None:
        """Redraw the bar, or print the state when it changed (logs keep every step)."""
        if self.bar is not None and self.task is not None:
            self.bar.update(
                self.task,
                completed=progress.done,
                total=progress.total or None,
                failed=progress.failed,
                status=progress.status,
            )
            return
        line = f"{self.what}: {progress.summary()}"
        if line != self.last_line:
            self.console.print(line, highlight=False, soft_wrap=True)
            self.last_line = line


def follow(
    current: Callable[[], Progress],
    what: str,
    poll_seconds: float,
    timeout_seconds: float,
    console: Console | None = None,
) -> Progress:
    """Poll `current` until it is finished (or the timeout passes), showing its progress."""
    deadline = time.monotonic() + timeout_seconds
    with ProgressView(console or Console(stderr=True), what) as view:
        while True:
            progress = current()
            view.show(progress)
            if progress.finished:
                return progress
            if time.monotonic() > deadline:
                raise BackfillError(f"{what} still {progress.status} after {timeout_seconds:.0f}s")
            time.sleep(poll_seconds)


def watch(
    api: DagsterApi, backfill_id: str, poll_seconds: float, timeout_seconds: float
) -> Progress:
    """Poll a backfill until it ends (or the timeout passes), showing its progress."""
    tracker = backfill_tracker(api, backfill_id)
    return follow(tracker, f"backfill {backfill_id}", poll_seconds, timeout_seconds)
