"""`aqi` console script: launch a partitioned backfill (or one run over the range) on a running
Dagster instance and watch it; build the Spark driver's class archive."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

import requests

from resources.run_tags import RANGE_END_TAG, RANGE_START_TAG

DEFAULT_URL = "http://127.0.0.1:3000"
SUCCESS = {"COMPLETED_SUCCESS", "COMPLETED"}
FAILURE = {"FAILED", "COMPLETED_FAILED", "CANCELED"}

ASSET_NODES = """
query { assetNodes { assetKey { path } isPartitioned assetMaterializations(limit: 1) { timestamp } } }
"""
LOAD_ERRORS = """
query { workspaceOrError { ... on Workspace { locationEntries {
  name locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      error { message }
      assetBackfillData {
        assetBackfillStatuses {
          __typename
          ... on AssetPartitionsStatusCounts {
            numPartitionsTargeted numPartitionsMaterialized numPartitionsFailed
          }
          ... on UnpartitionedAssetStatus { materialized failed }
        }
      }
    }
    ... on PythonError { message }
    ... on BackfillNotFoundError { message }
  }
}
"""
BACKFILL_RUNS = """
query Runs($id: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
  ... on Runs { results { runId status } } ... on PythonError { message } } }
"""
RUN_MATERIALIZATIONS = """
query Run($id: ID!) { runOrError(runId: $id) {
  ... on Run { assetMaterializations { assetKey { path } partition } } } }
"""
RUN_ENDED = {"SUCCESS", "FAILURE", "CANCELED"}
REPOSITORY = "query { repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
# The run's event counts (one SQL aggregate), not its 4,585 materialization events per poll.
RUN_PROGRESS = """
query Run($id: ID!) { runOrError(runId: $id) {
  __typename
  ... on Run { status stats { ... on RunStatsSnapshot { materializations } } }
  ... on RunNotFoundError { message }
  ... on PythonError { message } } }
"""
# Run statuses in the vocabulary of backfill statuses, so one Progress describes both.
RUN_AS_BACKFILL_STATUS = {
    "SUCCESS": "COMPLETED_SUCCESS",
    "FAILURE": "FAILED",
    "CANCELED": "CANCELED",
}


class BackfillError(RuntimeError):
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


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    """POST one GraphQL request to the Dagster webserver; raise BackfillError on any error."""
    try:
        response = requests.post(
            f"{url.rstrip('/')}/graphql",
            json={"query": query, "variables": variables or {}},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise BackfillError(
            f"Cannot reach the Dagster UI at {url}: {exc}. Is `scripts/dev` running?"
        ) from exc
    if response.status_code != 200:
        raise BackfillError(
            f"Dagster GraphQL answered HTTP {response.status_code}: {response.text[:300]}"
        )
    body = response.json()
    if body.get("errors"):
        raise BackfillError(f"Dagster GraphQL error: {body['errors'][0].get('message')}")
    return body["data"]


def default_selection(nodes: list[dict]) -> list[str]:
    """Every partitioned asset, plus the unpartitioned ones (reference dimensions) never built yet.

    Unpartitioned assets do not depend on the day range; re-building them in every backfill would
    cost the backfill a second wave of runs (their dependents wait for them).
    """
    return sorted(
        "/".join(n["assetKey"]["path"])
        for n in nodes
        if n["isPartitioned"] or not n.get("assetMaterializations")
    )


def partitions_by_asset(url: str, start: date, end: date, select: list[str] | None) -> list[dict]:
    """Selection for launchPartitionBackfill: the day range for partitioned assets, whole for others."""
    nodes = graphql(url, ASSET_NODES)["assetNodes"]
    if not nodes:
        entries = graphql(url, LOAD_ERRORS)["workspaceOrError"].get("locationEntries", [])
        errors = [
            f"{e['name']}: {e['locationOrLoadError']['message'].strip()}"
            for e in entries
            if (e.get("locationOrLoadError") or {}).get("__typename") == "PythonError"
        ]
        raise BackfillError(
            "The Dagster instance has no assets"
            + (f"; the code location failed to load: {'; '.join(errors)}" if errors else ".")
        )
    known = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    wanted = select or default_selection(nodes)
    unknown = [key for key in wanted if key not in known]
    if unknown:
        raise BackfillError(f"Unknown assets {unknown}; known: {sorted(known)}")
    selection = []
    for key in wanted:
        entry: dict = {"assetKey": {"path": known[key]["assetKey"]["path"]}}
        if known[key]["isPartitioned"]:
            entry["partitions"] = {"range": {"start": start.isoformat(), "end": end.isoformat()}}
        selection.append(entry)
    return selection


def launch_backfill(url: str, start: date, end: date, select: list[str] | None, title: str) -> str:
    """Launch an asset backfill of [start, end] (inclusive days) and return its id."""
    params = {"partitionsByAssets": partitions_by_asset(url, start, end, select), "title": title}
    result = graphql(url, LAUNCH, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise BackfillError(
            f"Backfill was not launched ({result['__typename']}): {result.get('message')}"
        )
    return result["backfillId"]


def launch_asset_run(url: str, asset_keys: list[list[str]], tags: dict[str, str]) -> str:
    """Launch one run of the code location's asset job for `asset_keys` and return its id."""
    repo = graphql(url, REPOSITORY)["repositoriesOrError"]["nodes"][0]
    params = {
        "selector": {
            "repositoryLocationName": repo["location"]["name"],
            "repositoryName": repo["name"],
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": path} for path in asset_keys],
        },
        "mode": "default",
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    result = graphql(url, LAUNCH_RUN, {"params": params})["launchRun"]
    if result["__typename"] != "LaunchRunSuccess":
        raise BackfillError(
            f"Run was not launched ({result['__typename']}): {result.get('message')}"
        )
    return result["run"]["runId"]


def launch_range_run(url: str, start: date, end: date, select: list[str] | None) -> RangeRun:
    """Launch one run over [start, end] (inclusive days), as the UI's "Launch as: Single run" does.

    It goes through the run queue straight away instead of waiting for the backfill daemon's
    next tick (every 30 s); with every partitioned asset on a single-run backfill policy it does
    the same work as a backfill.
    """
    selection = partitions_by_asset(url, start, end, select)
    days = (end - start).days + 1
    total = sum(days if "partitions" in entry else 1 for entry in selection)
    tags = {RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()}
    run_id = launch_asset_run(url, [entry["assetKey"]["path"] for entry in selection], tags)
    return RangeRun(url, run_id, total)


@dataclass(frozen=True)
class RangeRun:
    """One run over a partition range: its id and how many (asset, partition) pairs it targets."""

    url: str
    run_id: str
    total: int

    def progress(self) -> Progress:
        """Run status and the partitions it has materialized so far (one event per partition)."""
        data = graphql(self.url, RUN_PROGRESS, {"id": self.run_id})["runOrError"]
        if data["__typename"] != "Run":
            raise BackfillError(f"Run {self.run_id}: {data.get('message')}")
        done = (data.get("stats") or {}).get("materializations", 0)
        status = RUN_AS_BACKFILL_STATUS.get(data["status"], data["status"])
        failed = self.total - done if status in FAILURE else 0
        return Progress(status, done, failed, self.total, done_when_all_in=False)


def backfill_progress(url: str, backfill_id: str) -> Progress:
    """Current status and partition counts of a backfill."""
    data = graphql(url, STATUS, {"id": backfill_id})["partitionBackfillOrError"]
    if data["__typename"] != "PartitionBackfill":
        raise BackfillError(f"Backfill {backfill_id}: {data.get('message')}")
    done = failed = total = 0
    for status in (data.get("assetBackfillData") or {}).get("assetBackfillStatuses", []):
        if status["__typename"] == "AssetPartitionsStatusCounts":
            total += status["numPartitionsTargeted"]
            done += status["numPartitionsMaterialized"]
            failed += status["numPartitionsFailed"]
        else:
            total += 1
            done += int(status["materialized"])
            failed += int(status["failed"])
    error = (data.get("error") or {}).get("message")
    return Progress(data["status"], done, failed, total, error)


@dataclass
class RunMaterializations:
    """Partitions the backfill's ended runs materialized, read from each run's events once.

    The daemon counts a backfill's partitions on its ticks (every 30 s); the runs' own events
    say sooner that every partition is in.
    """

    url: str
    backfill_id: str
    by_run: dict[str, set[tuple[str, str | None]]] = field(default_factory=dict)

    def count(self) -> int:
        """Distinct (asset, partition) pairs materialized by the backfill's ended runs."""
        found = graphql(self.url, BACKFILL_RUNS, {"id": self.backfill_id})["runsOrError"]
        for run in found.get("results", []):
            if run["status"] in RUN_ENDED and run["runId"] not in self.by_run:
                events = graphql(self.url, RUN_MATERIALIZATIONS, {"id": run["runId"]})
                self.by_run[run["runId"]] = {
                    ("/".join(e["assetKey"]["path"]), e["partition"])
                    for e in events["runOrError"].get("assetMaterializations", [])
                }
        return len(set().union(*self.by_run.values()))


def render(progress: Progress, width: int = 30) -> str:
    """A one-line progress bar: `[#####.....] 12/36 partitions, 0 failed, REQUESTED`."""
    filled = int(width * progress.done / progress.total) if progress.total else 0
    bar = "#" * filled + "." * (width - filled)
    return f"[{bar}] {progress.done}/{progress.total} partitions, {progress.failed} failed, {progress.status}"


def backfill_tracker(url: str, backfill_id: str) -> Callable[[], Progress]:
    """Reads a backfill's progress, counting partitions from its ended runs between daemon ticks."""
    materialized = RunMaterializations(url, backfill_id)

    def current() -> Progress:
        progress = backfill_progress(url, backfill_id)
        if progress.finished:
            return progress
        return replace(progress, done=max(progress.done, materialized.count()))

    return current


def watch(url: str, backfill_id: str, poll_seconds: float, timeout_seconds: float) -> Progress:
    """Poll until the backfill ends (or the timeout passes), redrawing the progress bar."""
    tracker = backfill_tracker(url, backfill_id)
    return follow(tracker, f"Backfill {backfill_id}", poll_seconds, timeout_seconds)


def follow(
    current: Callable[[], Progress], what: str, poll_seconds: float, timeout_seconds: float
) -> Progress:
    """Poll `current` until it is finished (or the timeout passes), redrawing the progress bar."""
    deadline = time.monotonic() + timeout_seconds
    interactive = sys.stderr.isatty()
    last_line = ""
    while True:
        progress = current()
        line = render(progress)
        if line != last_line:
            sys.stderr.write(("\r" if interactive else "") + line + ("" if interactive else "\n"))
            sys.stderr.flush()
            last_line = line
        if progress.finished:
            if interactive:
                sys.stderr.write("\n")
            return progress
        if time.monotonic() > deadline:
            raise BackfillError(f"{what} still {progress.status} after {timeout_seconds:.0f}s")
        time.sleep(poll_seconds)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aqi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    backfill = commands.add_parser("backfill", help="launch a partitioned backfill and watch it")
    backfill.add_argument("start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    backfill.add_argument("end", type=date.fromisoformat, help="last day (inclusive), YYYY-MM-DD")
    backfill.add_argument(
        "--select",
        default=None,
        help="comma-separated asset keys (default: every partitioned asset, plus the "
        "reference dimensions when they were never materialized)",
    )
    backfill.add_argument(
        "--url", default=DEFAULT_URL, help=f"Dagster UI URL (default {DEFAULT_URL})"
    )
    backfill.add_argument("--poll", type=float, default=2.0, help="seconds between progress polls")
    backfill.add_argument(
        "--timeout", type=float, default=6 * 3600, help="give up after this many seconds"
    )
    backfill.add_argument("--no-wait", action="store_true", help="launch and exit without watching")
    backfill.add_argument(
        "--single-run",
        action="store_true",
        help="launch one run over the range through the run queue (the UI's 'Launch as: Single "
        "run') instead of a backfill the daemon picks up on its next 30 s tick",
    )
    archive = commands.add_parser(
        "jvm-archive",
        help="build the Spark driver's class-data-sharing archive (faster JVM start per run)",
    )
    archive.add_argument("--path", default=None, help="archive file (default: AQI_JVM_ARCHIVE)")
    archive.add_argument("--force", action="store_true", help="rebuild even if it exists")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `aqi` console script; returns the process exit code."""
    args = _parse_args(argv)
    if args.command == "jvm-archive":
        from aqi_assets.dev.jvm_archive import ensure_archive

        return ensure_archive(args.path, args.force)
    if args.end < args.start:
        print(f"error: end {args.end} is before start {args.start}", file=sys.stderr)
        return 2
    select = [key.strip() for key in args.select.split(",") if key.strip()] if args.select else None
    base = args.url.rstrip("/")
    try:
        if args.single_run:
            run = launch_range_run(args.url, args.start, args.end, select)
            launched, what = run.run_id, f"run {run.run_id}"
            print(f"{what}: {base}/runs/{launched}", file=sys.stderr)
            current: Callable[[], Progress] = run.progress
        else:
            title = f"aqi backfill {args.start}..{args.end}"
            launched = launch_backfill(args.url, args.start, args.end, select, title=title)
            what = f"backfill {launched}"
            print(f"{what}: {base}/runs/b/{launched}", file=sys.stderr)
            current = backfill_tracker(args.url, launched)

        if args.no_wait:
            print(launched)
            return 0
        progress = follow(current, what, args.poll, args.timeout)
    except BackfillError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(launched)
    if progress.succeeded:
        return 0
    print(f"error: {what} ended {progress.status}: {progress.error or ''}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
