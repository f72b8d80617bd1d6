"""Dagster's private surfaces, one module each, pinned to the tested release with a public fallback."""
