"""Ingest: Open-Meteo answers into bronze and the forecast, and the sensor that asks for them hourly."""
