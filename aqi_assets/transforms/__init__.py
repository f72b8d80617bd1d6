"""Pure DataFrame -> DataFrame transformations (no Dagster inside): testable on tiny frames."""
