"""Alerts a person receives: failed runs, blocked commits, stale tables, unhealthy air (webhook, SMTP)."""
