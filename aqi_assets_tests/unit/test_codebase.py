"""Rules the codebase keeps: one registry of table names, public APIs, small product modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from aqi_assets.catalog.registry import TABLES

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_MODULES = {"aqi_assets/catalog/registry.py", "aqi_assets/catalog/table_spec.py"}
PRODUCT_PACKAGES = ("aqi_assets", "resources")
MAX_PRODUCT_MODULE_LINES = 300


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def product_modules() -> Iterator[Path]:
    return (
        p for p in python_files(*PRODUCT_PACKAGES) if not relative(p).startswith("aqi_assets/dev/")
    )


def test_table_names_are_written_only_in_the_registry() -> None:
    names = {t.asset for t in TABLES} | {t.iceberg_name for t in TABLES}
    qualified = {f"{t.table}" for t in TABLES}
    found = []
    for path in python_files(*PRODUCT_PACKAGES, "aqi_assets_tests", "bench"):
        if relative(path) in REGISTRY_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{relative(path)}:{node.lineno} {node.value!r}")
            if isinstance(node, ast.JoinedStr):
                # f"{catalog}.gold.fact_city_daily": a qualified name built by hand
                text = "".join(
                    v.value for v in node.values if isinstance(v, ast.Constant) and v.value
                )
                found += [f"{relative(path)}:{node.lineno} {q!r}" for q in qualified if q in text]
    assert found == [], "read table names from aqi_assets.catalog.registry instead:\n" + "\n".join(
        found
    )


def test_product_code_imports_no_private_dagster_module_outside_compat_modules() -> None:
    found = []
    for path in product_modules():
        if path.name.endswith("_compat.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            found += [
                f"{relative(path)}:{node.lineno} {m}"
                for m in modules
                if any(part.startswith("_") and part != "__future__" for part in m.split("."))
            ]
    assert found == [], "private modules belong in a *_compat.py module:\n" + "\n".join(found)


def test_product_modules_stay_small() -> None:
    large = []
    for path in product_modules():
        if (n := len(path.read_text().splitlines())) > MAX_PRODUCT_MODULE_LINES:
            large.append(f"{relative(path)}: {n} lines, over {MAX_PRODUCT_MODULE_LINES}")
    assert large == [], "split these modules:\n" + "\n".join(large)


def test_product_code_never_imports_the_dev_tools() -> None:
    found = []
    for path in product_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith("aqi_assets.dev"):
                found.append(f"{relative(path)}:{node.lineno} {module}")
    assert found == [], "dev tools are for tests and benchmarks:\n" + "\n".join(found)


def test_no_two_modules_or_packages_share_a_name() -> None:
    """A name in a traceback or an import points at one place of the tree."""
    seen: dict[str, list[str]] = {}
    for path in python_files(*PRODUCT_PACKAGES):
        if path.name == "__init__.py":
            name, where = path.parent.name, relative(path.parent)
        else:
            name, where = path.stem, relative(path)
        if where not in seen.setdefault(name, []):
            seen[name].append(where)
    shared = {name: places for name, places in seen.items() if len(places) > 1}
    assert shared == {}, f"rename one of each: {shared}"


def test_every_module_starts_with_a_docstring_that_says_what_it_holds() -> None:
    missing = []
    for path in python_files(*PRODUCT_PACKAGES, "aqi_assets_tests", "bench"):
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree)
        if path.stat().st_size and not (doc and doc.strip()):
            missing.append(relative(path))
    assert missing == [], "say in a first-line docstring what each holds:\n" + "\n".join(missing)


def test_readme_architecture_lists_every_package_and_only_real_paths() -> None:
    """The README's architecture block is the tree: each package once, no path that is gone."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Architecture", 1)[1].split("```", 2)[1]
    listed = {line.split()[0].rstrip("/") for line in block.splitlines() if line.strip()}
    packages = {
        relative(init.parent)
        for init in python_files(*PRODUCT_PACKAGES)
        if init.name == "__init__.py" and relative(init.parent).count("/") == 1
    }
    assert packages - listed == set(), "add these packages to the README's architecture section"
    gone = [path for path in listed if "/" in path and not (ROOT / path).exists()]
    assert gone == [], f"the README's architecture section names paths that do not exist: {gone}"
