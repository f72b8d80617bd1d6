"""The benchmarks start as their docstrings say (`python bench/<name>.py` or `python -m bench.<name>`)
from any working directory; the backfill bench, which imports bench.duckdb_reference, both ways."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = (
    "backfill_bench",
    "catalog_bench",
    "maintenance_bench",
    "refresh_latency_bench",
    "report_bench",
)


def documented_command(name: str) -> list[str]:
    """The first way the script's docstring says to run it: `bench/<name>.py` or `-m bench.<name>`."""
    text = (ROOT / "bench" / f"{name}.py").read_text()
    found = re.search(rf"python (-m bench\.{name}|bench/{name}\.py)\b", text)
    assert found, f"bench/{name}.py: say in its docstring how to run it"
    return found.group(1).split()


def run_help(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`python <command> --help` from `cwd`, a path in `command` taken from the project root."""
    args = [str(ROOT / a) if a.endswith(".py") else a for a in command]
    return subprocess.run(
        [sys.executable, *args, "--help"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "command",
    [
        *[documented_command(name) for name in SCRIPTS],
        # The other way to start the backfill bench (docs/performance.md).
        ["-m", "bench.backfill_bench"],
    ],
    ids=" ".join,
)
def test_help_works_as_the_docstring_says_from_any_folder(
    command: list[str], tmp_path: Path
) -> None:
    done = run_help(command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout
    assert "--help" in done.stdout
