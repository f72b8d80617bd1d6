"""The Open-Meteo client resource: requests, limits, the shared budget, plans, answers, model runs."""
