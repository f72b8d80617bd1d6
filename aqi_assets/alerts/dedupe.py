"""What was already sent, kept in a sensor's cursor: one message per kind, subject and day."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from aqi_assets.alerts.alert_messages import Alert

# Keys of days older than this are forgotten: the cursor stays small, and no alert is ever about
# a day that old.
KEEP_DAYS = 3


@dataclass
class AlertLedger:
    """`sent`: dedupe key -> the highest category rank sent; `seen`: a check key -> the id of
    the last evaluation record handled."""

    sent: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_cursor(cls, cursor: str | None) -> AlertLedger:
        """The ledger a cursor holds; an empty or unreadable cursor starts a new one."""
        try:
            raw = json.loads(cursor) if cursor else {}
        except json.JSONDecodeError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        return cls(dict(raw.get("sent", {})), dict(raw.get("seen", {})))

    def to_cursor(self) -> str:
        """The ledger as a sensor cursor (sorted, so an unchanged ledger is an unchanged cursor)."""
        return json.dumps({"sent": self.sent, "seen": self.seen}, sort_keys=True)

    def is_new(self, alert: Alert) -> bool:
        """Not sent yet for its kind, subject and day, or worse than what was sent."""
        return alert.rank > self.sent.get(alert.key, -1)

    def record(self, alert: Alert) -> None:
        """Remember `alert` as sent."""
        self.sent[alert.key] = max(alert.rank, self.sent.get(alert.key, -1))

    def prune(self, today: date, keep_days: int = KEEP_DAYS) -> None:
        """Forget keys of days before `today - keep_days`."""
        oldest = (today - timedelta(days=keep_days)).isoformat()
        self.sent = {k: v for k, v in self.sent.items() if k.rsplit("|", 1)[-1] >= oldest}
