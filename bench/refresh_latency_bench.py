"""The refresh a user meets: from a newer model run in `meta.json` to the report built on the new gold.

`dagster dev` runs with its sensors and automation on, against the local Open-Meteo server, nothing
launched by hand once the lakehouse exists. One round: start from an empty instance at 09:30 of
today (the server's clock), wait until the instance is quiet, then move the server to 10:30, when
the 00Z model run appears in `meta.json`. Measured from that instant:

- latency: until the report's materialization that follows every gold table's new one;
- runs: how many runs started for the refresh, and compute: the seconds they ran (start to end);
- ratio: latency / compute (1.0 = no waiting besides the runs themselves).

`--code` names a checkout to measure (e.g. a `git worktree` of the commit before a change): its
code location runs under the same harness, server and settings, so rounds can alternate (ABAB).
A checkout whose automation never builds gold from empty is seeded with one run of every asset.

    .venv/bin/python bench/refresh_latency_bench.py --locations 3 100 --code . /tmp/before \
        --rounds 3 [--yarn]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aqi_assets.cli.graphql_queries import DagsterApi  # noqa: E402
from aqi_assets.dev.dagster_dev import DagsterDev  # noqa: E402
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo  # noqa: E402
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG  # noqa: E402
from resources.spark.spark_conf import pinned_iceberg_jar  # noqa: E402

REPORT = "air_quality_report"
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
# Two ticks of the 30-s sensors without a new run: the instance has nothing left to do.
QUIET_SECONDS = 75
RUN_TIMES = """query { runsOrError { ... on Runs { results {
  runId status creationTime startTime endTime } } } }"""
LATEST = """query { assetNodes { assetKey { path } assetMaterializations(limit: 1) {
  timestamp runId } } }"""


@dataclass
class Round:
    """One measured refresh."""

    code: str
    locations: int
    master: str
    latency_s: float | None
    gold_latency_s: float | None
    runs: int
    detect_s: float | None
    launch_s: float | None
    compute_s: float
    ratio: float | None
    run_seconds: list[float]


def today_at(hour: int, minute: int) -> datetime:
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(hours=hour, minutes=minute)


def locations_file(count: int, path: Path) -> Path:
    """`count` locations: the shipped cities, then a grid over South-East Asia."""
    shipped = json.loads((ROOT / "aqi_assets" / "config" / "data" / "locations.json").read_text())
    rows = shipped[:count]
    for i in range(count - len(rows)):
        rows.append(
            {
                "location_key": f"loc{i:03d}",
                "location_name": f"Grid {i}",
                "latitude": 8.0 + (i % 10) * 1.5,
                "longitude": 100.0 + (i // 10) * 1.2,
                "time_zone": "Asia/Ho_Chi_Minh",
            }
        )
    path.write_text(json.dumps(rows))
    return path


def latest_materializations(api: DagsterApi) -> dict[str, float]:
    """Each asset's latest materialization instant (epoch seconds)."""
    nodes = api.execute(LATEST)["assetNodes"]
    return {
        "/".join(n["assetKey"]["path"]): float(n["assetMaterializations"][0]["timestamp"]) / 1000
        for n in nodes
        if n["assetMaterializations"]
    }


def gold_assets(api: DagsterApi) -> list[str]:
    return sorted(
        "/".join(n["assetKey"]["path"])
        for n in api.execute(LATEST)["assetNodes"]
        if n["assetKey"]["path"][-1].startswith("fact_")
    )


def is_quiet(api: DagsterApi) -> bool:
    """No run active, none started for QUIET_SECONDS."""
    runs = api.runs()
    newest = max((r.start_time or 0 for r in runs), default=0)
    return not any(r.status in ACTIVE for r in runs) and time.time() - newest > QUIET_SECONDS


def gold_built(api: DagsterApi, gold: list[str], since: float) -> float | None:
    """When the last gold table was rebuilt after `since` (None while one is not)."""
    latest = latest_materializations(api)
    built = [latest.get(a, 0) for a in gold]
    return max(built) if min(built) > since else None


def wait_quiet(api: DagsterApi, timeout: float = 1500) -> None:
    """Until no run is active and none started for QUIET_SECONDS."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_quiet(api):
            return
        time.sleep(3)
    raise TimeoutError(f"the instance was not quiet after {timeout:.0f} s")


def seed_if_needed(api: DagsterApi) -> bool:
    """One run of every asset for yesterday and today when the automation built no report."""
    if REPORT in latest_materializations(api):
        return False
    yesterday, today = today_at(0, 0).date() - timedelta(days=1), today_at(0, 0).date()
    assets = [
        "/".join(n["assetKey"]["path"])
        for n in api.execute(LATEST)["assetNodes"]
        if "open_meteo" not in n["assetKey"]["path"][-1]
    ]
    tags = {RANGE_START_TAG: yesterday.isoformat(), RANGE_END_TAG: today.isoformat()}
    api.launch_run("__ASSET_JOB", assets, tags)
    return True


def refresh_done(api: DagsterApi, gold: list[str], since: float) -> tuple[float, float] | None:
    """(last gold instant, report instant) once the report follows every new gold build."""
    latest = latest_materializations(api)
    built = [latest.get(a, 0) for a in gold]
    if min(built) <= since:
        return None
    report = latest.get(REPORT, 0)
    return (max(built), report) if report > max(built) else None


def refresh_runs(api: DagsterApi, since: float) -> list[dict]:
    """Runs created after `since`, oldest first (creation, start and end instants)."""
    runs = api.execute(RUN_TIMES)["runsOrError"]["results"]
    return sorted((r for r in runs if r["creationTime"] > since), key=lambda r: r["creationTime"])


@contextlib.contextmanager
def yarn_cluster(workdir: Path) -> Iterator[object]:
    from aqi_assets.dev.minicluster import MiniCluster

    with MiniCluster(workdir / "hadoop") as cluster:
        yield cluster


def one_round(
    code: Path, locations: int, workdir: Path, cluster: object | None, timeout: float
) -> Round:
    """Empty instance, quiet, newer model run, report rebuilt: one Round."""
    workdir.mkdir(parents=True)
    home = workdir / "home"
    (home / ".cache").mkdir(parents=True)
    for cached in ("jars", "jvm"):  # the checkouts share the fetched jars and the JVM archive
        if (ROOT / ".cache" / cached).exists():
            (home / ".cache" / cached).symlink_to(ROOT / ".cache" / cached)
    env = {
        "PYTHONPATH": str(code),
        "AQI_HOME": str(home),
        "AQI_AUTOMATION": "on",
        "AQI_SPARK_UI": "off",
        "AQI_ICEBERG_JAR": pinned_iceberg_jar(),
        "AQI_LOCATIONS_PATH": str(locations_file(locations, workdir / "locations.json")),
    }
    if cluster is None:
        env["AQI_WAREHOUSE"] = (workdir / "warehouse").as_uri()
    else:
        env.update(cluster.profile_env(f"{cluster.fs_uri}/bench/{workdir.name}"))
        env["AQI_AUTOMATION"] = "on"
    server = LocalOpenMeteo(now=today_at(9, 30))
    env["AQI_OPEN_METEO_URL"] = server.base_url
    with server, DagsterDev(workdir, env, instance_config=code / "dagster.yaml") as ui:
        api = DagsterApi(ui.url)
        wait_quiet(api)
        if seed_if_needed(api):
            wait_quiet(api)
        gold = gold_assets(api)
        since = time.time()
        server.clock.set(today_at(10, 30))  # the 00Z run appears in meta.json
        deadline = time.monotonic() + timeout
        done = None
        while done is None and time.monotonic() < deadline:
            time.sleep(1)
            done = refresh_done(api, gold, since)
            if done is None and gold_built(api, gold, since) and is_quiet(api):
                break  # the gold is new and nothing more will run: no report will follow it
        wait_quiet(api)
        runs = refresh_runs(api, since)
        gold_at = gold_built(api, gold, since)
    seconds = [round((r["endTime"] or r["startTime"]) - r["startTime"], 1) for r in runs]
    first = runs[0] if runs else None
    compute = round(sum(seconds), 1)
    latency = round(done[1] - since, 1) if done else None
    return Round(
        code=str(code),
        locations=locations,
        master="yarn" if cluster else "local",
        latency_s=latency,
        gold_latency_s=round(gold_at - since, 1) if gold_at else None,
        runs=len(runs),
        detect_s=round(first["creationTime"] - since, 1) if first else None,
        launch_s=round(first["startTime"] - first["creationTime"], 1) if first else None,
        compute_s=compute,
        ratio=round(latency / compute, 2) if latency and compute else None,
        run_seconds=seconds,
    )


def median_of(values: Iterable[float | None]) -> float | str:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else "n/a"


def summary(rounds: list[Round]) -> str:
    """Medians per (code, locations, master): the bench's table."""
    lines = [
        "| code | loc | master | latency s | runs | compute s | to 1st run s | launch s | ratio |"
    ]
    lines.append("|---|---|---|---|---|---|---|---|---|")
    groups: dict[tuple, list[Round]] = {}
    for r in rounds:
        groups.setdefault((r.code, r.locations, r.master), []).append(r)
    for (code, n, master), rs in groups.items():
        ratios = [r.ratio for r in rs if r.ratio is not None]
        latencies = [r.latency_s for r in rs if r.latency_s is not None]
        lines.append(
            f"| {code} | {n} | {master} | "
            f"{statistics.median(latencies) if latencies else 'never'} | "
            f"{statistics.median(r.runs for r in rs)} | "
            f"{statistics.median(r.compute_s for r in rs)} | "
            f"{median_of(r.detect_s for r in rs)} | {median_of(r.launch_s for r in rs)} | "
            f"{statistics.median(ratios) if ratios else 'n/a'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, nargs="+", default=[3, 100])
    parser.add_argument("--code", type=Path, nargs="+", default=[ROOT], help="checkouts (ABAB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--yarn", action="store_true", help="on Hadoop's YARN test cluster")
    parser.add_argument("--timeout", type=float, default=600, help="per refresh, seconds")
    parser.add_argument("--out", type=Path, help="append each round as a JSON line")
    args = parser.parse_args()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="refresh-bench-") as tmp:
        cluster_cm = yarn_cluster(Path(tmp)) if args.yarn else contextlib.nullcontext()
        with cluster_cm as cluster:
            for i in range(args.rounds):
                for n in args.locations:
                    for code in args.code:
                        workdir = Path(tmp) / f"r{i}-{n}-{len(rounds)}"
                        found = one_round(code.resolve(), n, workdir, cluster, args.timeout)
                        rounds.append(found)
                        print(json.dumps(asdict(found)), flush=True)
                        if args.out:
                            with args.out.open("a") as out:
                                out.write(json.dumps(asdict(found)) + "\n")
    print(summary(rounds))


if __name__ == "__main__":
    os.environ.setdefault("AQI_SPARK_UI", "off")
    main()
