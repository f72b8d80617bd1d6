"""The checks the registry declares on a table, built for one run: assets give inputs, not checks.

Each `Check` has one implementation here. `plan_checks` builds a table's declared checks, in
declaration order, from what the run hands over (`CheckInputs`): an asset cannot run a check its
table does not declare, nor skip one it does. Before anything is written it refuses a declared
check whose input the run left out, and an input no declared check reads (a check the asset
expects but the registry lacks). `validate_declarations` refuses, at definition load, a
declaration no implementation fits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime

import dagster as dg
from pyspark.sql import DataFrame

from aqi_assets.catalog.registry import DIM_DATE, DIM_LOCATION, DIM_POLLUTANT, DIM_TIME
from aqi_assets.catalog.table_spec import Check, CheckDecl, CheckDeclarationError, TableSpec
from aqi_assets.quality import blocking_checks as blocking
from aqi_assets.quality import warning_checks as warning
from aqi_assets.quality.blocking_checks import FrameCheck
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from resources.iceberg.window_writes import WriteResult

# A warning check, evaluated after the commit: (the commit, the rows written) -> its result.
WarningRule = Callable[[WriteResult, DataFrame], dg.AssetCheckResult]


@dataclass(frozen=True)
class CheckInputs:
    """What a run hands the checks its table declares; each check reads only its own (`NEEDS`).

    `faster` replaces the implementation of a declared blocking check by an equivalent the run
    can count more cheaply (same name, same verdict).
    """

    dimension: Callable[[TableSpec], DataFrame] | None = None
    aqi_table: AqiTable | None = None
    silver_hours: DataFrame | None = None
    locations: tuple[str, ...] | None = None
    today: date | None = None
    rows_in: int | None = None
    rejected: int | None = None
    max_reject_ratio: float | None = None
    recomputed: str | None = None
    faster: Mapping[Check, FrameCheck] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckCall:
    """One declared check of one run: where it is declared, its inputs and the days written."""

    table: TableSpec
    decl: CheckDecl
    inputs: CheckInputs
    first: date
    stop: date


def _foreign_key(column: str, dimension: TableSpec) -> Callable[[CheckCall], FrameCheck]:
    def build(call: CheckCall) -> FrameCheck:
        rows = call.inputs.dimension(dimension)
        return blocking.in_dimension(call.decl.name, column, rows)

    return build


# Evaluated on the frame before its commit; a failure skips the commit.
BLOCKING: dict[Check, Callable[[CheckCall], FrameCheck]] = {
    Check.UNIQUE: lambda c: blocking.unique(*c.decl.columns),
    Check.NO_NULL_KEYS: lambda c: blocking.not_null(*c.decl.columns),
    Check.VALUE_RANGES: lambda c: blocking.value_ranges(),
    Check.AQI_MATCHES: lambda c: blocking.aqi_matches_pm25(c.inputs.aqi_table),
    Check.LOCATION_FK: _foreign_key("location_key", DIM_LOCATION),
    Check.DATE_FK: _foreign_key("date_key", DIM_DATE),
    Check.TIME_FK: _foreign_key("time_key", DIM_TIME),
    Check.POLLUTANT_FK: _foreign_key("pollutant_key", DIM_POLLUTANT),
    Check.TOTAL_HOURS: lambda c: blocking.total_hours_match(c.inputs.silver_hours),
}
# Evaluated on the commit and the rows written, after the commit.
WARNINGS: dict[Check, Callable[[CheckCall], WarningRule]] = {
    Check.COMPLETENESS: lambda c: (
        lambda _, written: warning.completeness(
            c.table, written, c.inputs.locations, c.first, c.stop, c.inputs.today
        )
    ),
    Check.REJECT_RATIO: lambda c: (
        lambda *_: warning.reject_ratio(
            c.table, c.inputs.rows_in, c.inputs.rejected, c.inputs.max_reject_ratio
        )
    ),
    Check.ROW_COUNT_DROP: lambda c: lambda write, _: warning.row_count_drop(c.table, write),
    Check.OPEN_METEO_AGREEMENT: lambda c: (
        lambda _, written: warning.open_meteo_agreement(c.table, written, c.inputs.recomputed)
    ),
}
# The `CheckInputs` fields each check reads.
NEEDS: dict[Check, tuple[str, ...]] = {
    Check.AQI_MATCHES: ("aqi_table",),
    Check.LOCATION_FK: ("dimension",),
    Check.DATE_FK: ("dimension",),
    Check.TIME_FK: ("dimension",),
    Check.POLLUTANT_FK: ("dimension",),
    Check.TOTAL_HOURS: ("silver_hours",),
    Check.COMPLETENESS: ("locations", "today"),
    Check.REJECT_RATIO: ("rows_in", "rejected", "max_reject_ratio"),
    Check.OPEN_METEO_AGREEMENT: ("recomputed",),
}
# Checks that read the columns their declaration names.
WITH_COLUMNS = (Check.UNIQUE, Check.NO_NULL_KEYS)

if set(BLOCKING) & set(WARNINGS) or set(BLOCKING) | set(WARNINGS) != set(Check):
    raise RuntimeError("every Check needs exactly one implementation in BLOCKING or WARNINGS")


def validate_declarations(tables: Iterable[TableSpec]) -> None:
    """Refuse a declaration no implementation fits: named twice, blocking when evaluated after
    the commit (or the reverse), or without the columns its check reads."""
    problems = []
    for table in tables:
        names = [d.name for d in table.checks]
        for decl in table.checks:
            where = f"{table.asset} declares {decl.name.value!r}"
            if names.count(decl.name) > 1:
                problems.append(f"{where} more than once")
            if decl.blocking and decl.name not in BLOCKING:
                problems.append(f"{where} blocking, but it runs after the commit: blocking=False")
            if not decl.blocking and decl.name not in WARNINGS:
                problems.append(f"{where} as a warning, but it runs before the commit: blocking")
            if decl.name in WITH_COLUMNS and not decl.columns:
                problems.append(f"{where} without the columns it reads: set columns=")
    if problems:
        raise CheckDeclarationError(
            "Fix these check declarations in aqi_assets/catalog/registry.py:\n  "
            + "\n  ".join(dict.fromkeys(problems))
        )


def check_inputs(table: TableSpec, inputs: CheckInputs) -> None:
    """Refuse inputs that do not fit `table`'s declared checks, naming the asset and the check."""
    validate_declarations([table])
    declared = {d.name: d for d in table.checks}
    problems = [
        f"{table.asset} declares {d.name.value!r}, which reads `{need}`: pass it in CheckInputs"
        for d in table.checks
        for need in NEEDS.get(d.name, ())
        if getattr(inputs, need) is None
    ]
    for name, check in inputs.faster.items():
        if name not in declared or not declared[name].blocking:
            problems.append(
                f"{table.asset} runs {name.value!r}, which its table does not declare as "
                "blocking: declare it in aqi_assets/catalog/registry.py or stop running it"
            )
        elif check.name != name:
            problems.append(f"{table.asset} replaces {name.value!r} by {check.name.value!r}")
    read = {need for d in table.checks for need in NEEDS.get(d.name, ())}
    problems += [
        f"{table.asset} passes `{f.name}`, which no check declared on it reads: declare the "
        "check it is for in aqi_assets/catalog/registry.py, or stop passing it"
        for f in fields(inputs)
        if f.name != "faster" and f.name not in read and getattr(inputs, f.name) is not None
    ]
    if problems:
        raise CheckDeclarationError("\n".join(problems))


@dataclass(frozen=True)
class PlannedChecks:
    """A table's declared checks for one run, in declaration order."""

    blocking: list[FrameCheck]
    warnings: list[WarningRule]

    def warn(self, write: WriteResult, written: DataFrame) -> list[dg.AssetCheckResult]:
        """The warning checks' results on a commit and the rows it wrote."""
        return [rule(write, written) for rule in self.warnings]


def _day(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def plan_checks(
    table: TableSpec, inputs: CheckInputs, start: date | datetime, end: date | datetime
) -> PlannedChecks:
    """The checks `table` declares, built from `inputs` for a write of [start, end)."""
    check_inputs(table, inputs)
    calls = [CheckCall(table, d, inputs, _day(start), _day(end)) for d in table.checks]
    return PlannedChecks(
        blocking=[
            inputs.faster.get(c.decl.name) or BLOCKING[c.decl.name](c)
            for c in calls
            if c.decl.blocking
        ],
        warnings=[WARNINGS[c.decl.name](c) for c in calls if not c.decl.blocking],
    )
