"""The CLI's typed queries are valid against the installed Dagster's GraphQL schema."""

from __future__ import annotations

import pytest
from dagster_graphql.schema import create_schema
from graphql import parse, validate

from aqi_assets.cli import graphql_queries

# Every GraphQL document the module defines, so a new one is checked too.
QUERIES = {
    name: value
    for name, value in vars(graphql_queries).items()
    if isinstance(value, str) and value.lstrip().startswith(("query ", "mutation "))
}


@pytest.fixture(scope="module")
def schema():
    return create_schema().graphql_schema


def test_every_query_of_the_module_is_checked() -> None:
    assert len(QUERIES) == 8, sorted(QUERIES)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_matches_the_dagster_schema(schema, name: str) -> None:
    errors = validate(schema, parse(QUERIES[name]))
    assert errors == [], f"{name}: {[e.message for e in errors]}"


def test_a_renamed_field_would_be_caught(schema) -> None:
    stale = graphql_queries.RUN.replace("materializations }", "materializationCount }")
    assert validate(schema, parse(stale)), "validation accepts an unknown field"
