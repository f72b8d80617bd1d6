"""Typed access to a running Dagster instance: `DagsterGraphQLClient`, plus the queries it lacks.

The client launches runs and reads run statuses. Backfills, asset nodes and run event counts
have no method there, so they are sent as typed queries through a `gql` client over the same
HTTP transport the Dagster client is built on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError, TransportQueryError, TransportServerError
from gql.transport.requests import RequestsHTTPTransport

DEFAULT_URL = "http://127.0.0.1:3000"
REQUEST_TIMEOUT_S = 60

ASSET_NODES = """query AssetNodes { assetNodes {
  assetKey { path } isPartitioned assetMaterializations(limit: 1) { timestamp } } }"""
LOAD_ERRORS = """query LoadErrors { workspaceOrError { ... on Workspace { locationEntries {
  name locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
LAUNCH_BACKFILL = """mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message } } }"""
BACKFILL = """query Backfill($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename
  ... on PartitionBackfill { status error { message } assetBackfillData { assetBackfillStatuses {
    __typename
    ... on AssetPartitionsStatusCounts {
      numPartitionsTargeted numPartitionsMaterialized numPartitionsFailed }
    ... on UnpartitionedAssetStatus { materialized failed } } } }
  ... on PythonError { message }
  ... on BackfillNotFoundError { message } } }"""
BACKFILL_IDS = """query Backfills { partitionBackfillsOrError {
  ... on PartitionBackfills { results { id } } ... on PythonError { message } } }"""
RUN_FIELDS = "runId jobName status startTime endTime tags { key value }"
RUNS = f"""query Runs($filter: RunsFilter) {{ runsOrError(filter: $filter) {{
  __typename ... on Runs {{ results {{ {RUN_FIELDS} }} }} ... on PythonError {{ message }} }} }}"""
# A run's materialization count is one SQL aggregate; its events would be one row per partition.
RUN = f"""query Run($id: ID!) {{ runOrError(runId: $id) {{
  __typename
  ... on Run {{ {RUN_FIELDS} stats {{ ... on RunStatsSnapshot {{ materializations }} }} }}
  ... on RunNotFoundError {{ message }}
  ... on PythonError {{ message }} }} }}"""
RUN_MATERIALIZATIONS = """query RunMaterializations($id: ID!) { runOrError(runId: $id) {
  __typename
  ... on Run { assetMaterializations { assetKey { path } partition } }
  ... on RunNotFoundError { message }
  ... on PythonError { message } } }"""
BACKFILL_TAG = "dagster/backfill"


class DagsterApiError(RuntimeError):
    """The Dagster instance could not be reached or refused a request; the message says why."""


@dataclass(frozen=True)
class AssetNode:
    """An asset the running code location defines."""

    key: str
    partitioned: bool
    materialized: bool


@dataclass(frozen=True)
class AssetRange:
    """An asset to backfill: its key and, for a partitioned one, the days (inclusive)."""

    key: str
    days: tuple[date, date] | None = None


@dataclass(frozen=True)
class BackfillStatus:
    """A backfill's status and partition counts (asset x day; an unpartitioned asset counts 1)."""

    status: str
    done: int
    failed: int
    total: int
    error: str | None


@dataclass(frozen=True)
class RunInfo:
    """A run's job, status, tags, start/end (unix seconds, None until then), materializations."""

    run_id: str
    job_name: str
    status: str
    tags: dict[str, str]
    start_time: float | None
    end_time: float | None
    materializations: int = 0


class DagsterApi:
    """One Dagster webserver, e.g. `DagsterApi("http://127.0.0.1:3000")`."""

    def __init__(self, url: str = DEFAULT_URL, timeout: int = REQUEST_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DagsterApiError(f"--url {url!r} is not an http(s) URL such as {DEFAULT_URL}")
        transport = RequestsHTTPTransport(url=f"{self.url}/graphql", timeout=timeout)
        self.client = DagsterGraphQLClient(
            parts.hostname,
            port_number=parts.port,
            transport=transport,
            use_https=parts.scheme == "https",
            path_prefix=parts.path,
        )
        self._gql = Client(transport=transport)

    def execute(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        """The `data` of one GraphQL request; DagsterApiError when it cannot be answered."""
        request = GraphQLRequest(query, variable_values=dict(variables or {}))
        try:
            return self._gql.execute(request)
        except TransportQueryError as exc:
            raise DagsterApiError(f"Dagster GraphQL error: {exc}") from exc
        except TransportServerError as exc:
            raise DagsterApiError(f"Dagster GraphQL answered HTTP {exc.code}: {exc}") from exc
        except (TransportError, OSError) as exc:
            raise self.unreachable(exc) from exc

    def unreachable(self, exc: Exception) -> DagsterApiError:
        """The error for a webserver that does not answer."""
        return DagsterApiError(
            f"Cannot reach the Dagster UI at {self.url}: {exc}. Is `scripts/dev` running?"
        )

    def asset_nodes(self) -> list[AssetNode]:
        """Every asset of the loaded code locations (empty when none loaded)."""
        return [
            AssetNode(
                "/".join(n["assetKey"]["path"]),
                n["isPartitioned"],
                bool(n.get("assetMaterializations")),
            )
            for n in self.execute(ASSET_NODES)["assetNodes"]
        ]

    def location_load_errors(self) -> list[str]:
        """`location: message` of every code location that failed to load."""
        entries = self.execute(LOAD_ERRORS)["workspaceOrError"].get("locationEntries", [])
        return [
            f"{e['name']}: {e['locationOrLoadError']['message'].strip()}"
            for e in entries
            if (e.get("locationOrLoadError") or {}).get("__typename") == "PythonError"
        ]

    def launch_partition_backfill(self, assets: Sequence[AssetRange], title: str) -> str:
        """Launch an asset backfill (`launchPartitionBackfill`) and return its id."""
        selection = []
        for asset in assets:
            entry: dict[str, Any] = {
                "assetKey": {"path": dg.AssetKey.from_user_string(asset.key).path}
            }
            if asset.days:
                first, last = asset.days
                entry["partitions"] = {
                    "range": {"start": first.isoformat(), "end": last.isoformat()}
                }
            selection.append(entry)
        params = {"partitionsByAssets": selection, "title": title}
        result = self.execute(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise DagsterApiError(
                f"Backfill was not launched ({result['__typename']}): {result.get('message')}"
            )
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> BackfillStatus:
        """Status and partition counts of a backfill."""
        data = self.execute(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if data["__typename"] != "PartitionBackfill":
            raise DagsterApiError(f"Backfill {backfill_id}: {data.get('message')}")
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
        return BackfillStatus(data["status"], done, failed, total, error)

    def backfill_ids(self) -> list[str]:
        """Ids of every backfill of the instance, newest first."""
        data = self.execute(BACKFILL_IDS)["partitionBackfillsOrError"]
        return [b["id"] for b in data.get("results", [])]

    def runs(self, backfill_id: str | None = None) -> list[RunInfo]:
        """Every run of the instance (newest first), or only those a backfill launched."""
        where = {"tags": [{"key": BACKFILL_TAG, "value": backfill_id}]} if backfill_id else None
        data = self.execute(RUNS, {"filter": where})["runsOrError"]
        if data["__typename"] != "Runs":
            raise DagsterApiError(f"Runs could not be listed: {data.get('message')}")
        return [_run_info(r) for r in data["results"]]

    def run(self, run_id: str) -> RunInfo:
        """One run, with how many materializations it has recorded so far."""
        data = self.execute(RUN, {"id": run_id})["runOrError"]
        if data["__typename"] != "Run":
            raise DagsterApiError(f"Run {run_id}: {data.get('message')}")
        return _run_info(data)

    def run_materializations(self, run_id: str) -> set[tuple[str, str | None]]:
        """The (asset, partition) pairs a run materialized, from its events."""
        data = self.execute(RUN_MATERIALIZATIONS, {"id": run_id})["runOrError"]
        if data["__typename"] != "Run":
            raise DagsterApiError(f"Run {run_id}: {data.get('message')}")
        return {
            ("/".join(e["assetKey"]["path"]), e["partition"]) for e in data["assetMaterializations"]
        }

    def launch_run(self, job_name: str, assets: Sequence[str], tags: Mapping[str, str]) -> str:
        """Launch one run of `job_name` for the asset keys `assets` and return its id."""
        try:
            return self.client.submit_job_execution(
                job_name,
                tags=dict(tags),
                asset_selection=[dg.AssetKey.from_user_string(key) for key in assets],
            )
        except DagsterGraphQLClientError as exc:
            raise self.client_error(f"Run of job {job_name} was not launched", exc) from exc

    def run_status(self, run_id: str) -> dg.DagsterRunStatus:
        """A run's status."""
        try:
            return self.client.get_run_status(run_id)
        except DagsterGraphQLClientError as exc:
            raise self.client_error(f"Run {run_id}", exc) from exc

    def client_error(self, what: str, exc: DagsterGraphQLClientError) -> DagsterApiError:
        """A clear error from the Dagster client's (kind, message) or transport failure."""
        cause = exc.__cause__
        if isinstance(cause, TransportError | OSError) and not isinstance(
            cause, TransportQueryError | TransportServerError
        ):
            return self.unreachable(cause)
        return DagsterApiError(f"{what}: {': '.join(str(a) for a in exc.args)}")


def _run_info(data: dict) -> RunInfo:
    return RunInfo(
        data["runId"],
        data["jobName"],
        data["status"],
        {t["key"]: t["value"] for t in data.get("tags", [])},
        data.get("startTime"),
        data.get("endTime"),
        (data.get("stats") or {}).get("materializations", 0),
    )
