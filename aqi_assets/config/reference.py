"""Reference data shipped with the project: locations and pollutants, overridable by path.

Pollutant rows come from the pollutant catalogue (`aqi_assets.catalog.pollutants`); a file
may rename or describe them, but only with the catalogue's keys.
"""

from __future__ import annotations

import json
import math
import zoneinfo
from dataclasses import dataclass
from importlib import resources as importlib_resources
from pathlib import Path

from aqi_assets.catalog.pollutants import SUB_INDEX_POLLUTANTS, dimension_entries

SHIPPED_LOCATIONS = "locations.json"
# Spark's Java knows IANA's region zones (Area/City) and UTC's names, not a system's files such
# as `localtime`, `Factory`, `posixrules` or the `right/` and `posix/` copies.
REGION_AREAS = frozenset(
    (
        *("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia"),
        *("Europe", "Indian", "Pacific"),
    )
)
UTC_ZONES = frozenset(("UTC", "GMT"))


class ReferenceDataError(ValueError):
    """A reference file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class Location:
    """One monitored place: a stable key, the coordinates sent to Open-Meteo, its IANA time zone."""

    key: str
    name: str
    latitude: float
    longitude: float
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Pollutant:
    """One row of `dim_pollutant`."""

    key: str
    name: str
    unit: str
    description: str


def _read_json_list(path: Path | None, shipped: str, what: str) -> tuple[list[dict], str]:
    if path is None:
        text = (
            importlib_resources.files("aqi_assets.config.data").joinpath(shipped).read_text("utf-8")
        )
        origin = f"shipped {shipped}"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ReferenceDataError(
                f"Cannot read the {what} file {path}: {exc.strerror}. "
                f"Point the setting at a readable JSON file or unset it to use the shipped one."
            ) from exc
        origin = str(path)
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReferenceDataError(
            f"The {what} file {origin} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from exc
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ReferenceDataError(
            f"The {what} file {origin} must hold a non-empty JSON list of objects."
        )
    return rows, origin


def _field(row: dict, name: str, origin: str, index: int, kind: type) -> object:
    value = row.get(name)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise ReferenceDataError(
            f"{origin}: entry {index} needs a {kind.__name__} field '{name}', got {value!r}."
        )
    return value


def _time_zone(row: dict, origin: str, key: str) -> str:
    """The location's IANA time zone (its local calendar days); required, since local days and
    the forecast's days follow it."""
    zone = row.get("time_zone")
    if not zone:
        raise ReferenceDataError(
            f"{origin}: location '{key}' has no time_zone; add its IANA time zone, e.g. "
            '"time_zone": "Asia/Ho_Chi_Minh" (its local calendar days follow it).'
        )
    try:
        zoneinfo.ZoneInfo(str(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ReferenceDataError(
            f"{origin}: location '{key}' has an unknown time_zone {zone!r}; use an IANA name "
            "such as 'Asia/Ho_Chi_Minh'."
        ) from None
    if not _java_knows(str(zone)):
        area, _, rest = str(zone).partition("/")
        instead = (
            f"'{rest}'"
            if area in ("posix", "right") and _java_knows(rest)
            else "a region zone such as 'Asia/Ho_Chi_Minh' (Area/City), 'UTC' or an 'Etc/' "
            "zone such as 'Etc/GMT-7'"
        )
        raise ReferenceDataError(
            f"{origin}: location '{key}' has time_zone {zone!r}, which Spark's Java may not "
            f"know (IANA region zones, UTC and Etc/ zones are sure to work); write {instead}."
        )
    return str(zone)


def _java_knows(zone: str) -> bool:
    """A region zone (Area/City), UTC/GMT or an Etc/ zone that Python's zone database has too."""
    area, slash, _ = zone.partition("/")
    shaped = zone in UTC_ZONES or area == "Etc" or (slash and area in REGION_AREAS)
    return bool(shaped) and zone in zoneinfo.available_timezones()


def load_locations(path: Path | str | None = None) -> list[Location]:
    """Load and validate locations (unique keys, coordinates in range); None means the shipped 3 cities."""
    rows, origin = _read_json_list(Path(path) if path else None, SHIPPED_LOCATIONS, "locations")
    locations: list[Location] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        key = _field(row, "location_key", origin, i, str)
        lat = _field(row, "latitude", origin, i, float)
        lon = _field(row, "longitude", origin, i, float)
        name = row.get("location_name") or key
        if not (
            math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lon) and -180 <= lon <= 180
        ):
            raise ReferenceDataError(
                f"{origin}: location '{key}' has coordinates out of range ({lat}, {lon})."
            )
        if key in seen:
            raise ReferenceDataError(
                f"{origin}: location key '{key}' appears more than once; keys must be unique."
            )
        seen.add(key)
        zone = _time_zone(row, origin, key)
        locations.append(Location(key, str(name), lat, lon, zone))
    return locations


def catalogue_pollutants() -> list[Pollutant]:
    """dim_pollutant's rows as the pollutant catalogue describes them."""
    return [Pollutant(e.key, e.name, e.unit, e.description) for e in dimension_entries()]


def _check_against_catalogue(pollutants: list[Pollutant], origin: str) -> None:
    """A file's keys are the catalogue's, and name every pollutant the facts index."""
    known = [p.key for p in catalogue_pollutants()]
    keys = [p.key for p in pollutants]
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ReferenceDataError(
            f"{origin}: pollutant keys {unknown} are not in the pollutant catalogue "
            f"(aqi_assets/catalog/pollutants.py); use keys among {known}."
        )
    # fact_pollutant_hourly's rows point at these keys (its foreign-key check).
    missing = [k for k in SUB_INDEX_POLLUTANTS if k not in keys]
    if missing:
        raise ReferenceDataError(f"{origin}: pollutant keys {missing} are missing.")


def load_pollutants(path: Path | str | None = None) -> list[Pollutant]:
    """The pollutant reference list: the catalogue's rows, or a file's checked against them."""
    if not path:
        return catalogue_pollutants()
    rows, origin = _read_json_list(Path(path), "", "pollutants")
    pollutants = [
        Pollutant(
            key=_field(row, "pollutant_key", origin, i, str),
            name=_field(row, "pollutant_name", origin, i, str),
            unit=str(row.get("unit", "")),
            description=str(row.get("description", "")),
        )
        for i, row in enumerate(rows)
    ]
    keys = [p.key for p in pollutants]
    if len(set(keys)) != len(keys):
        raise ReferenceDataError(f"{origin}: pollutant keys must be unique, got {keys}.")
    _check_against_catalogue(pollutants, origin)
    return pollutants


__all__ = [
    "Location",
    "Pollutant",
    "ReferenceDataError",
    "catalogue_pollutants",
    "load_locations",
    "load_pollutants",
]
