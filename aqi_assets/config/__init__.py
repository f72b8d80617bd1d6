"""Configuration: AQI_* settings, resource profiles, the pipeline's rules and shipped reference data."""
