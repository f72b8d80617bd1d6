"""Tests of the AQI lakehouse: unit/ (fast), integration/ (in-process graph), e2e/ (processes)."""
