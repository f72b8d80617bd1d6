"""Whole processes: `dagster dev`, killed runs, Spark clusters, YARN, PostgreSQL, a browser."""
