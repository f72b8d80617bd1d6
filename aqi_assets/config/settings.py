"""AQI_* environment variables -> one typed, validated settings object (read once at load)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlparse

import aqi_assets
from resources.open_meteo.api_limits import RateLimits, default_limits
from resources.open_meteo.rate_budget import LEDGER_FILE
from resources.open_meteo.redaction import public_url
from resources.spark.jvm_archive import default_archive_path
from resources.spark.spark_conf import (
    LOCAL_DRIVER_MEMORY,
    SparkConfigError,
    driver_class_path,
    driver_jars,
)

DEFAULT_OPEN_METEO_URL = "https://air-quality-api.open-meteo.com"
DEFAULT_PARTITIONS_START = "2024-01-01"


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot work with; the message names it and the fix."""


class Profile(StrEnum):
    """Resource profiles: an embedded local default, or a YARN cluster."""

    LOCAL = "local"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class ClusterSizing:
    """How big the Spark driver and (on YARN) the executors are; defaults depend on the profile."""

    driver_memory: str
    shuffle_partitions: int | None = None
    yarn_queue: str | None = None
    executor_memory: str | None = None
    executor_cores: int | None = None
    min_executors: int | None = None
    max_executors: int | None = None
    python_archive: str | None = None


@dataclass(frozen=True)
class ApiBudget:
    """How the Open-Meteo client spends the API's budget (see docs/deployment.md)."""

    rate_limits: str
    deadline_seconds: float
    reserve: float
    ledger_path: str


@dataclass(frozen=True)
class Settings:
    """Every knob of the code location, resolved from the environment."""

    profile: Profile
    home: Path
    open_meteo_url: str
    api_key_set: bool
    warehouse: str
    spark_master: str
    locations_path: str | None
    pollutants_path: str | None
    partitions_start: date
    aqi_breakpoints: str
    episode_threshold: int
    episode_min_hours: int
    catalog_type: str
    catalog_uri: str | None
    iceberg_packages: str | None
    iceberg_jar: str | None
    automation_on: bool
    spark_conf: dict[str, str]
    spark_ui: bool
    jvm_archive: str | None
    short_run_max_days: int
    sizing: ClusterSizing
    api_budget: ApiBudget


def project_home() -> Path:
    """AQI_HOME, else the source checkout holding this package, else ~/.aqi-lakehouse."""
    if os.environ.get("AQI_HOME"):
        return Path(os.environ["AQI_HOME"]).expanduser().resolve()
    checkout = Path(aqi_assets.__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.home() / ".aqi-lakehouse"


def _int(env: dict[str, str], name: str, default: int, low: int) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer.") from None
    if value < low:
        raise SettingsError(f"{name}={value} must be at least {low}.")
    return value


def _sizing(env: dict[str, str], profile: Profile) -> ClusterSizing:
    """AQI_DRIVER_MEMORY and, on a cluster, the YARN executors (docs/deployment.md)."""
    if profile is Profile.LOCAL:
        return ClusterSizing(driver_memory=env.get("AQI_DRIVER_MEMORY", LOCAL_DRIVER_MEMORY))
    return ClusterSizing(
        driver_memory=env.get("AQI_DRIVER_MEMORY", "4g"),
        shuffle_partitions=_int(env, "AQI_SHUFFLE_PARTITIONS", 64, 1),
        yarn_queue=env.get("AQI_YARN_QUEUE", "default"),
        executor_memory=env.get("AQI_EXECUTOR_MEMORY", "4g"),
        executor_cores=_int(env, "AQI_EXECUTOR_CORES", 2, 1),
        min_executors=_int(env, "AQI_MIN_EXECUTORS", 1, 0),
        max_executors=_int(env, "AQI_MAX_EXECUTORS", 50, 1),
        python_archive=env.get("AQI_PYTHON_ARCHIVE") or None,
    )


def _spark_conf(raw: str) -> dict[str, str]:
    if not raw.strip():
        return {}
    try:
        conf = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"AQI_SPARK_CONF is not valid JSON ({exc.msg}).") from None
    if not isinstance(conf, dict):
        raise SettingsError(
            'AQI_SPARK_CONF must be a JSON object like {"spark.driver.port": "40000"}.'
        )
    return {str(k): str(v) for k, v in conf.items()}


def _switch(env: dict[str, str], name: str) -> bool:
    raw = env.get(name, "on").lower()
    if raw not in ("on", "off"):
        raise SettingsError(f"{name}={raw!r} must be 'on' or 'off'.")
    return raw == "on"


def _partitions_start(raw: str) -> date:
    try:
        start = date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"AQI_PARTITIONS_START={raw!r} is not a date (YYYY-MM-DD).") from None
    today = datetime.now(UTC).date()
    if start > today:
        raise SettingsError(
            f"AQI_PARTITIONS_START={raw} is in the future (today is {today} UTC); "
            "pick a past day such as 2024-01-01."
        )
    return start


def _jvm_archive(env: dict[str, str], home: Path) -> str | None:
    """AQI_JVM_ARCHIVE: a path, `off`, or (unset) this JDK's and Spark's archive under home."""
    raw = env.get("AQI_JVM_ARCHIVE", "")
    if raw.lower() == "off":
        return None
    if raw:
        return str(Path(raw).expanduser())
    try:
        jars = driver_jars(env.get("AQI_ICEBERG_JAR"), env.get("AQI_CATALOG_TYPE", "hadoop"))
        return str(default_archive_path(home, [e for jar in jars for e in driver_class_path(jar)]))
    except SparkConfigError:
        return None  # no Java: validate_environment says so in its own words


def check_warehouse_writable(warehouse: str) -> None:
    """For a local warehouse, create it and prove it can be written; remote ones are left to Spark."""
    parsed = urlparse(warehouse)
    if parsed.scheme not in ("", "file"):
        return
    path = Path(parsed.path if parsed.scheme else warehouse)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise SettingsError(
            f"AQI_WAREHOUSE={warehouse} cannot be written ({exc.strerror}); "
            "point it at a writable folder or URI."
        ) from None


def _open_meteo_url(env: dict[str, str]) -> str:
    """AQI_OPEN_METEO_URL: an http(s) base URL the client appends `/v1/air-quality` to."""
    url = env.get("AQI_OPEN_METEO_URL", DEFAULT_OPEN_METEO_URL).rstrip("/")
    if urlparse(url).scheme not in ("http", "https"):
        raise SettingsError(f"AQI_OPEN_METEO_URL={public_url(url)!r} must be an http(s) URL.")
    if "?" in url or "#" in url or "@" in urlparse(url).netloc:
        # A query would come before the API path (`…?apikey=abc/v1/air-quality`); credentials
        # would show in the UI's resource config, the key variable never does. Never shown.
        base = public_url(url.split("?")[0].split("#")[0]).rstrip("/")
        raise SettingsError(
            f"AQI_OPEN_METEO_URL has credentials (user:…@), a query string or a fragment: write "
            f"the base URL alone ({base}) and put the API key in AQI_OPEN_METEO_API_KEY."
        )
    return url


def _warehouse(env: dict[str, str], home: Path) -> str:
    """AQI_WAREHOUSE as a URI; relative ones (or `~`) would differ from process to process."""
    raw = env.get("AQI_WAREHOUSE") or (home / "warehouse").as_uri()
    parsed = urlparse(raw)
    if raw.startswith("/"):
        return Path(raw).as_uri()
    if parsed.scheme and (parsed.scheme != "file" or parsed.path.startswith("/")):
        return raw
    path = Path(parsed.path if parsed.scheme else raw).expanduser().resolve()
    raise SettingsError(
        f"AQI_WAREHOUSE={raw!r} is relative (to the working directory or the user): write an "
        f"absolute path or URI, e.g. AQI_WAREHOUSE={path.as_uri()} or {path}."
    )


def _api_budget(env: dict[str, str], home: Path, url: str) -> ApiBudget:
    limits = env.get("AQI_OPEN_METEO_RATE_LIMITS") or default_limits(url)
    try:
        RateLimits.parse(limits)
    except ValueError as exc:
        raise SettingsError(f"AQI_OPEN_METEO_RATE_LIMITS: {exc}.") from None
    numbers = {}
    for name, default, low, high in (
        ("AQI_OPEN_METEO_DEADLINE", "3600", 1.0, 7 * 86400.0),
        ("AQI_OPEN_METEO_RESERVE", "0.1", 0.0, 0.9),
    ):
        raw = env.get(name, default)
        try:
            numbers[name] = float(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a number.") from None
        if not low <= numbers[name] <= high:
            raise SettingsError(f"{name}={raw} must be between {low:g} and {high:g}.")
    # One ledger per Dagster instance: every run of it shares the API's budget.
    instance = Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else home / ".cache"
    return ApiBudget(
        rate_limits=limits,
        deadline_seconds=numbers["AQI_OPEN_METEO_DEADLINE"],
        reserve=numbers["AQI_OPEN_METEO_RESERVE"],
        ledger_path=str(instance / LEDGER_FILE),
    )


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Resolve and validate settings from `env` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    home = project_home()
    raw_profile = env.get("AQI_ENV", Profile.LOCAL.value)
    try:
        profile = Profile(raw_profile)
    except ValueError:
        raise SettingsError(f"AQI_ENV={raw_profile!r} must be 'local' or 'cluster'.") from None
    url = _open_meteo_url(env)
    warehouse = _warehouse(env, home)
    breakpoints = env.get("AQI_BREAKPOINTS", "epa_2024")
    if breakpoints not in ("epa_2024", "epa_pre_2024"):
        raise SettingsError(
            f"AQI_BREAKPOINTS={breakpoints!r} must be 'epa_2024' or 'epa_pre_2024'."
        )
    return Settings(
        profile=profile,
        home=home,
        open_meteo_url=url,
        api_key_set=bool(env.get("AQI_OPEN_METEO_API_KEY")),
        warehouse=warehouse,
        spark_master=env.get(
            "AQI_SPARK_MASTER", "yarn" if profile is Profile.CLUSTER else "local[*]"
        ),
        locations_path=env.get("AQI_LOCATIONS_PATH") or None,
        pollutants_path=env.get("AQI_POLLUTANTS_PATH") or None,
        partitions_start=_partitions_start(
            env.get("AQI_PARTITIONS_START", DEFAULT_PARTITIONS_START)
        ),
        aqi_breakpoints=breakpoints,
        episode_threshold=_int(env, "AQI_EPISODE_THRESHOLD", 151, 0),
        episode_min_hours=_int(env, "AQI_EPISODE_MIN_HOURS", 4, 1),
        catalog_type=env.get("AQI_CATALOG_TYPE", "hadoop"),
        catalog_uri=env.get("AQI_CATALOG_URI") or None,
        iceberg_packages=env.get("AQI_ICEBERG_PACKAGES") or None,
        iceberg_jar=env.get("AQI_ICEBERG_JAR") or None,
        automation_on=_switch(env, "AQI_AUTOMATION"),
        spark_ui=_switch(env, "AQI_SPARK_UI"),
        spark_conf=_spark_conf(env.get("AQI_SPARK_CONF", "")),
        jvm_archive=_jvm_archive(env, home),
        short_run_max_days=_int(env, "AQI_SHORT_RUN_MAX_DAYS", 7, 0),
        sizing=_sizing(env, profile),
        api_budget=_api_budget(env, home, url),
    )
