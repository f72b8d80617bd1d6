"""AQI lakehouse: Dagster assets that build a bronze/silver/gold Iceberg lakehouse from Open-Meteo."""
