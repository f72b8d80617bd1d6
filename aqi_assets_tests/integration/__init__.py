"""The graph and its assets in-process on local Spark and a temporary Dagster instance."""
