"""Gold: dimensions and facts built from silver (hourly, daily, local days, episodes)."""
