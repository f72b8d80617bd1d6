"""Development helpers: a local Open-Meteo server for tests, demos and benchmarks."""
