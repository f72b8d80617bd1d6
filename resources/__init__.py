"""Dagster resources of the AQI lakehouse: Spark + Iceberg, the Open-Meteo client, the lakehouse reader."""
