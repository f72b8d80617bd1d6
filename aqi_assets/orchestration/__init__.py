"""Orchestration: partitions, automation conditions, freshness, maintenance and jobs."""
