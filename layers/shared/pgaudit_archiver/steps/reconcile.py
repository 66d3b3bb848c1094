"""Reconciliation: is each onboarded source still delivering? Find drift, and repair it by onboarding again.

What is checked, for each source the registry calls active (or pending-reboot, or drifted):
- the subscription filter exists and points at our destination, with the requested pattern;
- the cluster exports the postgresql log;
- pgaudit is in the cluster's shared_preload_libraries, and loaded (no member waits for a reboot);
- the destination exists with its access policy, and the delivery stream is ACTIVE as configured.
Repair is the onboarding workflow itself (every step is an idempotent ensure), started when AutoRepair allows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.logs import ArchiveLogs, SourceLogs
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.registry import Registry, now
from pgaudit_archiver.errors import ArchiverError
from pgaudit_archiver.models import Model, Source
from pgaudit_archiver.naming import SUBSCRIPTION_FILTER_NAME, delivery_stream_name, destination_name, log_group_name
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.settings import Settings
from pgaudit_archiver.steps.canary import overdue
from pgaudit_archiver.steps.delivery_stream import desired_destination, destination_drift
from pgaudit_archiver.steps.destination import access_policy, destination_arn
from pgaudit_archiver.steps.parameter_group import LIBRARY, PGAUDIT_LOG, PRELOAD

VERIFIED_STATUSES = ("active", "pending-reboot", "drifted")
MAX_SOURCES_PER_RUN = 500


class Verification(Model):
    source: Source
    drift: tuple[str, ...]
    status: str
    repair_execution_arn: str | None = None


def sources_to_verify(registry: Registry) -> list[dict[str, str]]:
    sources: list[dict[str, str]] = []
    for status in VERIFIED_STATUSES:
        token = None
        while len(sources) < MAX_SOURCES_PER_RUN:
            items, token = registry.list(None, status, 100, token)
            sources += [
                {"account_id": i["account_id"], "region": i["region"], "cluster_id": i["cluster_id"]} for i in items
            ]
            if not token:
                break
    return sources[:MAX_SOURCES_PER_RUN]


def find_drift(
    source: Source,
    request: dict[str, Any],
    settings: Settings,
    rds: SourceRds,
    source_logs: SourceLogs,
    archive_logs: ArchiveLogs,
    firehose: ArchiveFirehose,
) -> list[str]:
    drift: list[str] = []
    expected_destination = destination_arn(settings, destination_name(source))
    group = log_group_name(source.cluster_id)
    filters = source_logs.subscription_filters(group)
    ours = [
        f
        for f in filters
        if f["filterName"] == SUBSCRIPTION_FILTER_NAME or f.get("destinationArn") == expected_destination
    ]
    if not ours:
        drift.append(f"subscription filter {SUBSCRIPTION_FILTER_NAME} is missing from {group}")
    elif ours[0].get("destinationArn") != expected_destination:
        drift.append(f"subscription filter {ours[0]['filterName']} points at {ours[0].get('destinationArn')}")
    elif request.get("filter_pattern") and ours[0].get("filterPattern") != request["filter_pattern"]:
        drift.append(
            f"subscription filter pattern is {ours[0].get('filterPattern')!r}, not {request['filter_pattern']!r}"
        )

    cluster = rds.describe_cluster(source.cluster_id)
    if cluster is None:
        return [*drift, f"cluster {source.cluster_id} no longer exists"]
    if "postgresql" not in cluster.get("EnabledCloudwatchLogsExports", []):
        drift.append("the postgresql log export is off")
    values = rds.parameter_values(cluster["DBClusterParameterGroup"], {PRELOAD, PGAUDIT_LOG})
    libraries = [item.strip() for item in (values[PRELOAD] or "").split(",")]
    if LIBRARY not in libraries:
        drift.append(f"{LIBRARY} is not in shared_preload_libraries of {cluster['DBClusterParameterGroup']}")
    elif any(m.get("DBClusterParameterGroupStatus") == "pending-reboot" for m in cluster.get("DBClusterMembers", [])):
        drift.append("pgaudit is not loaded until the instances reboot")
    if request.get("pgaudit_log") and values[PGAUDIT_LOG] != request["pgaudit_log"]:
        drift.append(f"pgaudit.log is {values[PGAUDIT_LOG]!r}, not {request['pgaudit_log']!r}")

    destination = archive_logs.describe_destination(destination_name(source))
    if destination is None:
        drift.append(f"destination {destination_name(source)} is missing")
    elif json.loads(destination.get("accessPolicy") or "{}") != access_policy(
        settings, source, destination_name(source)
    ):
        drift.append(f"the access policy of destination {destination_name(source)} was changed")
    stream = firehose.describe_stream(delivery_stream_name(source))
    if stream is None:
        drift.append(f"delivery stream {delivery_stream_name(source)} is missing")
    elif stream["DeliveryStreamStatus"] != "ACTIVE":
        drift.append(f"delivery stream {delivery_stream_name(source)} is {stream['DeliveryStreamStatus']}")
    else:
        current = stream["Destinations"][0].get("ExtendedS3DestinationDescription", {})
        changed = destination_drift(current, desired_destination(settings, source))
        if changed:
            drift.append(f"delivery stream {delivery_stream_name(source)} changed: {', '.join(changed)}")
    return drift


def reconcile_source(
    source: Source,
    settings: Settings,
    registry: Registry,
    service: ClusterService,
    find: Any,
    auto_repair: bool,
    send_canary: Callable[[dict[str, Any]], str | None] | None = None,
) -> Verification:
    """Check one source; repair by onboarding again, or record it as drifted; then send its next canary."""
    item = registry.get(source) or {}
    request = item.get("request") or {"account_id": source.account_id, "region": source.region,
                                      "cluster_id": source.cluster_id}  # fmt: skip
    try:
        drift = find(source, request)
    except ArchiverError as error:
        drift = [f"cannot verify: {error}"]
    if request.get("canary"):
        late = overdue(item.get("canary"), settings.canary_bound_seconds, datetime.now(tz=UTC))
        if late:
            drift.append(late)
    if item.get("status") == "pending-reboot":  # known and reported at onboarding: not drift
        drift = [entry for entry in drift if not entry.startswith("pgaudit is not loaded")]
    verification: dict[str, Any] = {"checked_at": now(), "drift": drift}
    if request.get("canary") and send_canary is not None:
        not_sent = send_canary(request)
        if not_sent:
            verification["canary_not_sent"] = not_sent
    if not drift:
        status = "pending-reboot" if item.get("status") == "pending-reboot" else "active"
        registry.finish(source, status, {"last_verification": verification})
        return Verification(source=source, drift=(), status=status)
    if auto_repair:
        onboarding = {key: value for key, value in request.items() if value is not None}
        started = service.start("onboard", source, onboarding)
        registry.finish(source, "onboarding", {"last_verification": {**verification, "repair": started.execution_arn}})
        return Verification(source=source, drift=tuple(drift), status="onboarding",
                            repair_execution_arn=started.execution_arn)  # fmt: skip
    registry.finish(source, "drifted", {"last_verification": verification})
    return Verification(source=source, drift=tuple(drift), status="drifted")
