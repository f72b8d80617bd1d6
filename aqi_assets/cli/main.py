"""`aqi` console script: launch a partitioned backfill (or one run over the range) on a running
Dagster instance and watch it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date

from aqi_assets.catalog import registry
from aqi_assets.cli.backfill import Progress, backfill_tracker, launch_backfill, launch_range_run
from aqi_assets.cli.backfill_plan import INGEST_ASSETS, backfill_plan, calls_the_api, over_budget
from aqi_assets.cli.graphql_queries import DEFAULT_URL, DagsterApi, DagsterApiError
from aqi_assets.cli.progress import follow
from aqi_assets.config.reference import ReferenceDataError
from aqi_assets.config.settings import SettingsError, load_settings
from resources.open_meteo.rate_budget import OpenMeteoLedgerError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of `aqi`."""
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
        "run') instead of a backfill the daemon picks up on its next tick",
    )
    backfill.add_argument(
        "--dry-run",
        action="store_true",
        help="print the Open-Meteo plan (requests, weighted calls, limits, shortest time) and exit",
    )
    backfill.add_argument(
        "--yes",
        action="store_true",
        help="launch even when the plan needs more than the hour's or the day's API budget",
    )
    return parser.parse_args(argv)


def check_plan(args: argparse.Namespace, select: list[str] | None) -> int | None:
    """Show the Open-Meteo plan; an exit code when nothing is to be launched, else None."""
    if not calls_the_api(select):
        if args.dry_run:
            print(f"No Open-Meteo requests: the selection has none of {', '.join(INGEST_ASSETS)}.")
            return 0
        return None
    plan = backfill_plan(load_settings(), args.start, args.end)
    print(plan.describe(), file=sys.stdout if args.dry_run else sys.stderr)
    if args.dry_run:
        return 0
    budget = over_budget(plan)
    if budget and not args.yes:
        print(
            f"error: this backfill needs more than {budget} API budget: nothing was launched. "
            "Re-run with --yes to launch it anyway (it waits for the budget as planned), "
            "or backfill a shorter range.",
            file=sys.stderr,
        )
        return 2
    return None


def run_backfill(args: argparse.Namespace, select: list[str] | None) -> int:
    """Launch the backfill (or the one run), print its id, watch it unless --no-wait."""
    api = DagsterApi(args.url)
    if args.single_run:
        run = launch_range_run(api, args.start, args.end, select)
        launched, what = run.run_id, f"run {run.run_id}"
        print(f"{what}: {api.url}/runs/{launched}", file=sys.stderr)
        current: Callable[[], Progress] = run.progress
    else:
        title = f"aqi backfill {args.start}..{args.end}"
        launched = launch_backfill(api, args.start, args.end, select, title=title)
        what = f"backfill {launched}"
        print(f"{what}: {api.url}/runs/b/{launched}", file=sys.stderr)
        current = backfill_tracker(api, launched)
    if args.no_wait:
        print(launched)
        return 0
    progress = follow(current, what, args.poll, args.timeout)
    print(launched)
    if progress.succeeded:
        return 0
    print(f"error: {what} ended {progress.status}: {progress.error or ''}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `aqi` console script; returns the process exit code."""
    args = parse_args(argv)
    if args.end < args.start:
        print(f"error: end {args.end} is before start {args.start}", file=sys.stderr)
        return 2
    select = [key.strip() for key in args.select.split(",") if key.strip()] if args.select else None
    unknown = sorted(set(select or ()) - set(registry.BY_ASSET))
    if unknown:
        print(
            f"error: unknown assets {unknown}; known: {sorted(registry.BY_ASSET)}", file=sys.stderr
        )
        return 2
    try:
        refused = check_plan(args, select)
    except (SettingsError, ReferenceDataError, OpenMeteoLedgerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if refused is not None:
        return refused
    try:
        return run_backfill(args, select)
    except DagsterApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
