"""The `aqi` command line: arguments, backfill launch, the API plan, progress, GraphQL queries."""
