"""Iceberg: window writes, schema evolution, and the Spark-free lakehouse reader."""
