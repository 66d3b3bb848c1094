"""Liveness per source: when its last audit record reached the archive, and whether it has gone silent.

The transform records `last_delivery` on the source's registry item, at most once per DELIVERY_RECORD_MINUTES per
source: each container remembers what it wrote, and the UpdateItem is conditional on the recorded time being older
than that, so concurrent containers write once between them (docs/operating.md, "Liveness", has the cost).
Reconciliation calls a source `silent` when its database is available and nothing arrived for SilentAfterMinutes.
A source with a delivery canary delivers the canary's own record every run, so for it silence is `canary-late`
and an idle database is never silent; without a canary, an idle database cannot be told from a silent one and the
drift says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pgaudit_archiver.aws.registry import Registry, source_key
from pgaudit_archiver.errors import ArchiverError
from pgaudit_archiver.models import Drift, Source
from pgaudit_archiver.observability import logger

DELIVERY_RECORD_MINUTES = 30  # last_delivery is as exact as this; SilentAfterMinutes is hours
AVAILABLE = "available"  # a stopped, starting or modified cluster is not expected to deliver


class DeliveryClock:
    """What this container last wrote (or found written) per source: the write is skipped while it is recent."""

    def __init__(self, interval: timedelta = timedelta(minutes=DELIVERY_RECORD_MINUTES)) -> None:
        self.interval = interval
        self._written: dict[str, datetime] = {}

    def record(self, registry: Registry, sources: Iterable[Source], at: datetime) -> int:
        """Record `at` as the last delivery of each source not recorded within the interval; returns the writes."""
        writes = 0
        for source in sources:
            key = source_key(source)
            last = self._written.get(key)
            if last is not None and at - last < self.interval:
                continue
            try:
                registry.delivered(source, at, at - self.interval)
            except ArchiverError as error:  # throttled or refused: the records still go to the archive
                logger.warning("last delivery not recorded", extra={"source": str(source), "error": str(error)})
                continue
            self._written[key] = at
            writes += 1
        return writes


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the registry writes UTC


def minutes_without_delivery(item: dict[str, Any], now: datetime) -> int | None:
    """Minutes since the source's last audit record reached the archive (since onboarding began if none has)."""
    since = item.get("last_delivery") or item.get("created_at")
    return None if since is None else max(0, int((now - _instant(since)).total_seconds() // 60))


def silence(
    item: dict[str, Any],
    cluster_status: Callable[[], str | None],
    now: datetime,
    silent_after_minutes: int,
) -> Drift | None:
    """`silent` drift when nothing arrived for the threshold (0 turns the check off) while the database is available.
    `cluster_status` is asked only then: a delivering source costs no RDS call."""
    if silent_after_minutes <= 0:
        return None
    last = item.get("last_delivery")
    since = last or item.get("created_at")
    threshold = timedelta(minutes=silent_after_minutes)
    if since is None or now - _instant(since) <= threshold:
        return None
    canary = item.get("canary") or {}
    if canary.get("sent_at") and not canary.get("arrived_at"):
        return None  # the canary in flight decides: `canary-late` once past its bound
    if canary.get("arrived_at") and now - _instant(canary["arrived_at"]) <= threshold:
        return None  # a canary arrived: the pipeline delivers, the database is idle
    if cluster_status() != AVAILABLE:
        return None
    cluster = str(item.get("cluster_id") or item.get("source_id", "?"))
    when = f"the last at {last}" if last else f"none since onboarding began at {since}"
    when += "; no delivery canary arrived to tell an idle database from a silent one"
    return Drift(kind="silent", resource=cluster, expected=f"{silent_after_minutes} minutes", actual=when)
