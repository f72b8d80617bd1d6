"""requirements.lock pins every dependency pyproject.toml names, at a version it allows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
# Every extra scripts/_bootstrap.sh, CI and the docs install.
LOCKED_EXTRAS = ("dev", "postgres")
# name, optional [extras], ==version: `pyiceberg[pyarrow]==0.12.0 \`
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    lines = project["dependencies"] + [line for extra in LOCKED_EXTRAS for line in extras[extra]]
    return [Requirement(line) for line in lines]


def locked() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if match := PIN.match(line):
            pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def test_every_declared_dependency_is_pinned_at_a_version_it_allows() -> None:
    pins = locked()
    wrong = []
    for requirement in declared():
        if requirement.marker and not requirement.marker.evaluate():
            continue
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            wrong.append(f"{requirement}: not in requirements.lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{requirement}: locked at {version}")
    assert wrong == [], "run ./scripts/lock and commit requirements.lock:\n" + "\n".join(wrong)


def test_every_pin_carries_hashes_for_require_hashes_installs() -> None:
    text = LOCK.read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1])
    unhashed = [b.split()[0] for b in blocks if PIN.match(b) and "--hash=sha256:" not in b]
    assert unhashed == [], f"run ./scripts/lock: these pins have no hash: {unhashed}"


def test_the_iceberg_jar_wheel_is_gone_for_pinned_maven_coordinates() -> None:
    # resources/spark/jar_pins.py fetches the runtime jar; the third-party wheel must not return.
    names = {canonicalize_name(r.name) for r in declared()}
    assert "snowpark-connect-deps-iceberg" not in names
