"""Reconciliation: is each onboarded source still delivering? Find drift, and repair it by onboarding again.

What is checked, for each source the registry calls active (or pending-reboot, or drifted):
- the subscription filter exists and points at our destination, with the requested pattern;
- the cluster exports the postgresql log;
- pgaudit is in the cluster's shared_preload_libraries, and loaded (no member waits for a reboot);
- no member's DB parameter group overrides shared_preload_libraries or pgaudit.log against that;
- the destination exists with its access policy and delivers with this region's destination role, which exists and
  trusts this region's CloudWatch Logs for the source only (a role of another region, or one that another region's
  onboarding rewrote, would stop delivery silently); the delivery stream is ACTIVE as configured. This archive side
  is checked at one run in four per source, spread over the runs (steps/check_cadence.py: the Firehose budget).
The desired state is the source's recorded request held to the archive's minimum audit policy: a request below it
counts only with an admin's exception recorded for exactly it, otherwise it is drift and is raised to the minimum.
Repair is the onboarding workflow itself (every step is an idempotent ensure), started when AutoRepair allows and
the drift is of a kind onboarding can repair: an instance's DB parameter group is its owner's to change. A pending
blue/green green without pgaudit is no source of its own: AutoRepair gives it the source's group directly
(steps/parameter_group.py, prepare_green), and reboots it, a member a run, when the source's reboot policy is
`immediate` (else its reboot is its owner's).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pgaudit_archiver.audit_policy import EXCEPTION_FIELD, same_classes
from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.aws.logs import ArchiveLogs, SourceLogs
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.registry import Registry, now, source_of_item
from pgaudit_archiver.errors import ArchiverError, SourceAccessDeniedError
from pgaudit_archiver.events import SegmentProgress
from pgaudit_archiver.kinds import kind_of
from pgaudit_archiver.models import DatabaseFacts, Drift, Model, Source, onboard_input
from pgaudit_archiver.naming import (
    LOG_TYPE,
    SUBSCRIPTION_FILTER_NAME,
    delivery_stream_name,
    destination_name,
    source_log_group,
)
from pgaudit_archiver.observability import logger
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.settings import VerifySourceSettings
from pgaudit_archiver.status import SourceStatus
from pgaudit_archiver.steps.canary import overdue
from pgaudit_archiver.steps.check_cadence import FULL_CHECK_FIELD, full_check_due
from pgaudit_archiver.steps.delivery_stream import desired_destination, destination_drift
from pgaudit_archiver.steps.destination import access_policy, destination_arn
from pgaudit_archiver.steps.destination_role import destination_role_arn, role_drift
from pgaudit_archiver.steps.lifecycle import (
    GreenPrepared,
    Whereabouts,
    grace_over,
    offboard_input,
    reboot_command,
    record_deleted,
    renamed_source,
)
from pgaudit_archiver.steps.liveness import minutes_without_delivery, silence
from pgaudit_archiver.steps.parameter_group import LIBRARY, PGAUDIT_LOG, PRELOAD, conflicting, instance_overrides
from pgaudit_archiver.steps.role_settings import PgauditOverride, override_drift
from pgaudit_archiver.steps.validate import database_consent

VERIFIED_STATUSES = (SourceStatus.ACTIVE, SourceStatus.PENDING_REBOOT, SourceStatus.DRIFTED)
# Also read by each run: a deleted source's grace period is counted there (steps/lifecycle.py).
SCANNED_STATUSES = (*VERIFIED_STATUSES, SourceStatus.DELETED)
SCAN_PAGE_SIZE = 25
# Onboarding stops on these; and without the owner's consent it may change nothing (it is never re-granted).
OWNERS_TO_REPAIR = frozenset({"instance-pgaudit-not-preloaded", "instance-pgaudit-log", "consent-withdrawn"})
# Drift that shows a source's records are not reaching the archive (not merely configured otherwise): a canary,
# a statement known to have run, that did not arrive within its bound. Counted as SilentSources.
SILENCE_KINDS = frozenset({"canary-late", "silent"})
# Drift that onboarding again cannot repair, and that is no reason to start one: reported for its owner.
NOT_REPAIRED_BY_ONBOARDING = frozenset(
    {"silent", "pgaudit-override", "green-pgaudit-not-preloaded", "green-pgaudit-not-loaded"}
)

FindDrift = Callable[[Source, dict[str, Any], bool], list[Drift]]  # (source, request, archive side too)


class Verification(Model):
    source: Source
    drift: tuple[Drift, ...]
    status: SourceStatus
    repair_execution_arn: str | None = None
    minutes_without_delivery: int | None = None


def plan_run(registry: Registry, segments: int, source: Source | None) -> dict[str, Any]:
    """The run's segments (a parallel scan of the registry), how many sources it must check, and how many sources
    are in each status (the dashboard's fleet at a glance)."""
    if source is not None:
        return {"registered": 1, "by_status": {}, "segments": [SegmentProgress(source=source).model_dump(mode="json")]}
    by_status = registry.count_by_status()
    return {
        "registered": sum(by_status.get(status, 0) for status in VERIFIED_STATUSES),
        "by_status": by_status,
        "segments": [SegmentProgress(segment=i, segments=segments).model_dump(mode="json") for i in range(segments)],
    }


def verify_segment(
    progress: SegmentProgress,
    registry: Registry,
    verify: Callable[[Source], Verification],
    out_of_time: Callable[[], bool],
    page_size: int = SCAN_PAGE_SIZE,
) -> SegmentProgress:
    """Verify the segment's next sources until it ends or this invocation's time is up; the cursor moves past each
    source handled, so the next turn resumes after it. A source that cannot be checked is counted, not fatal.
    Time is asked only after a source or a page: every invocation moves the cursor, however late it started."""
    counts = progress.model_dump()
    if progress.source is not None:
        _count(counts, progress.source, verify)
        return SegmentProgress.model_validate({**counts, "done": True})
    cursor = progress.cursor
    while True:
        items, last_key = registry.scan_segment(SCANNED_STATUSES, progress.segment, progress.segments, page_size,
                                                cursor)  # fmt: skip
        for item in items:
            _count(
                counts,
                source_of_item(item),
                verify,
            )
            cursor = item["source_id"]
            if out_of_time():
                return SegmentProgress.model_validate({**counts, "cursor": cursor})
        if last_key is None:
            return SegmentProgress.model_validate({**counts, "cursor": None, "done": True})
        cursor = last_key
        if out_of_time():
            return SegmentProgress.model_validate({**counts, "cursor": cursor})


def _count(counts: dict[str, Any], source: Source, verify: Callable[[Source], Verification]) -> None:
    try:
        result = verify(source)
    except ArchiverError as error:  # throttled past every retry, or refused: this run did not check it
        logger.warning("source not verified", extra={"source": str(source), "error": str(error)})
        counts["unverified"] += 1
        return
    if result.status == SourceStatus.DELETED:  # nothing to check: no drift, and not counted as checked
        return
    counts["checked"] += 1
    kinds = {entry.kind for entry in result.drift}
    counts["silent"] += bool(kinds & SILENCE_KINDS)
    counts["canaries_late"] += "canary-late" in kinds
    quiet = result.minutes_without_delivery or 0
    counts["longest_without_delivery_minutes"] = max(counts["longest_without_delivery_minutes"], quiet)
    if result.repair_execution_arn:
        counts["repairing"] += 1
    elif result.status == SourceStatus.DRIFTED:
        counts["drifted"] += 1


def coverage(registered: int, progress: list[SegmentProgress]) -> dict[str, Any]:
    """The run's totals; `coverage` is the share of the sources registered at its start that it checked."""
    keys = ("checked", "drifted", "repairing", "unverified", "silent", "canaries_late")
    totals = {key: sum(getattr(p, key) for p in progress) for key in keys}
    totals["longest_without_delivery_minutes"] = max((p.longest_without_delivery_minutes for p in progress), default=0)
    unfinished = sum(1 for p in progress if not p.done)
    percent = 100.0 if registered == 0 else min(100.0, 100.0 * totals["checked"] / registered)
    return {"registered": registered, **totals, "unfinished_segments": unfinished, "coverage": round(percent, 2)}


def find_drift(
    source: Source,
    request: dict[str, Any],
    settings: VerifySourceSettings,
    rds: SourceRds,
    source_logs: SourceLogs,
    archive_logs: ArchiveLogs,
    firehose: ArchiveFirehose,
    iam: ArchiveIam,
    full: bool = True,
) -> list[Drift]:
    drift: list[Drift] = []
    expected_destination = destination_arn(settings, destination_name(source))
    group = source_log_group(source)
    filters = source_logs.subscription_filters(group)
    ours = [
        f
        for f in filters
        if f["filterName"] == SUBSCRIPTION_FILTER_NAME or f.get("destinationArn") == expected_destination
    ]
    if not ours:
        drift.append(Drift(kind="subscription-filter-missing", resource=group, expected=SUBSCRIPTION_FILTER_NAME))
    elif ours[0].get("destinationArn") != expected_destination:
        drift.append(
            Drift(
                kind="subscription-filter-destination",
                resource=group,
                expected=expected_destination,
                actual=ours[0].get("destinationArn"),
            )
        )
    elif request.get("filter_pattern") and ours[0].get("filterPattern") != request["filter_pattern"]:
        drift.append(
            Drift(
                kind="subscription-filter-pattern",
                resource=group,
                expected=request["filter_pattern"],
                actual=ours[0].get("filterPattern"),
            )
        )

    cluster = rds.database(source)
    if cluster is None:
        return [*drift, Drift(kind="cluster-missing", resource=source.cluster_id)]
    consent = database_consent(cluster, source_logs, source, settings.partition)
    if not consent.complete:
        return [
            *drift,
            Drift(kind="consent-withdrawn", resource=source.cluster_id, actual="; ".join(consent.missing())),
        ]
    if LOG_TYPE not in cluster.exported_log_types:
        drift.append(Drift(kind="log-export-off", resource=source.cluster_id, expected=LOG_TYPE))
    group_name = cluster.parameter_group
    values = rds.parameter_values(group_name, {PRELOAD, PGAUDIT_LOG}, cluster.kind)
    libraries = [item.strip() for item in (values[PRELOAD] or "").split(",")]
    waiting = [m.instance_id for m in cluster.members if m.parameter_group_status == "pending-reboot"]
    if LIBRARY not in libraries:
        drift.append(Drift(kind="pgaudit-not-preloaded", resource=group_name, expected=LIBRARY, actual=values[PRELOAD]))
    elif waiting:
        drift.append(
            Drift(kind="pgaudit-not-loaded", resource=source.cluster_id, expected="in-sync", actual=", ".join(waiting))
        )
    if request.get("pgaudit_log") and not same_classes(values[PGAUDIT_LOG], request["pgaudit_log"]):
        drift.append(
            Drift(kind="pgaudit-log", resource=group_name, expected=request["pgaudit_log"], actual=values[PGAUDIT_LOG])
        )
    drift += _member_overrides(rds, cluster, request) + _greens_without_pgaudit(rds, cluster)
    if not full:
        return drift

    destination = archive_logs.describe_destination(destination_name(source))
    if destination is None:
        drift.append(Drift(kind="destination-missing", resource=destination_name(source)))
    elif json.loads(destination.get("accessPolicy") or "{}") != access_policy(
        settings, source, destination_name(source)
    ):
        drift.append(Drift(kind="destination-policy", resource=destination_name(source)))
    expected_role = destination_role_arn(settings, source)
    if destination is not None and destination.get("roleArn") != expected_role:
        drift.append(Drift(kind="destination-role", resource=destination_name(source), expected=expected_role,
                           actual=destination.get("roleArn")))  # fmt: skip
    drift += role_drift(iam, settings, source)
    stream_name = delivery_stream_name(source)
    stream = firehose.describe_stream(stream_name)
    if stream is None:
        drift.append(Drift(kind="delivery-stream-missing", resource=stream_name))
    elif stream["DeliveryStreamStatus"] != "ACTIVE":
        drift.append(
            Drift(
                kind="delivery-stream-status",
                resource=stream_name,
                expected="ACTIVE",
                actual=stream["DeliveryStreamStatus"],
            )
        )
    else:
        current = stream["Destinations"][0].get("ExtendedS3DestinationDescription", {})
        changed = destination_drift(current, desired_destination(settings, source))
        if changed:
            drift.append(Drift(kind="delivery-stream-settings", resource=stream_name, actual=", ".join(changed)))
    return drift


def _member_overrides(rds: SourceRds, cluster: DatabaseFacts, request: dict[str, Any]) -> list[Drift]:
    """A DB cluster's members may override its group in their DB parameter groups; a DB instance's is its group."""
    members = [m.instance_id for m in cluster.members] if kind_of(cluster.kind).is_cluster else []
    overrides = conflicting(instance_overrides(rds, members), request.get("pgaudit_log"))
    return [override.drift(request.get("pgaudit_log")) for override in overrides]


def _greens_without_pgaudit(rds: SourceRds, blue: DatabaseFacts) -> list[Drift]:
    """A green made while its blue is a source takes over the blue's name, log group and so the source at switchover:
    it must preload pgaudit before then. A same-version green copies the blue's group; a major-upgrade green gets
    the group its deployment named, or the new family's default, which does not preload pgaudit."""
    drift = []
    for deployment, green in rds.pending_greens(blue):
        preload = rds.parameter_values(green.parameter_group, {PRELOAD}, green.kind)[PRELOAD] or ""
        # "applying" comes before "pending-reboot" right after a new group is attached: not loaded either way
        waiting = [m.instance_id for m in green.members if m.parameter_group_status != "in-sync"]
        if LIBRARY not in [item.strip() for item in preload.split(",")]:
            drift.append(Drift(
                kind="green-pgaudit-not-preloaded", resource=green.identifier,
                expected=f"a {green.family} parameter group with pgaudit in shared_preload_libraries",
                actual=f"group {green.parameter_group}, blue/green deployment {deployment}",
            ))  # fmt: skip
        elif waiting:  # its group preloads pgaudit (ours, attached by a run's repair): loaded at the next reboot
            drift.append(Drift(
                kind="green-pgaudit-not-loaded", resource=green.identifier, expected=reboot_command(green),
                actual=f"group {green.parameter_group}, {', '.join(waiting)} not in sync, blue/green deployment "
                f"{deployment}",
            ))  # fmt: skip
    return drift


def _late_canary(item: dict[str, Any], request: dict[str, Any], settings: VerifySourceSettings) -> list[Drift]:
    if not request.get("canary"):
        return []
    late = overdue(item.get("canary"), settings.canary_bound_seconds, datetime.now(tz=UTC))
    return [late] if late else []


def _known_at_onboarding(item: dict[str, Any], drift: list[Drift]) -> tuple[list[Drift], bool]:
    """For a source onboarded pending-reboot, pgaudit not loaded yet is what onboarding reported, not drift: (the
    drift without it, whether pgaudit is loaded now: its owner rebooted, and what onboarding left for after the
    reboot, the extension, can be done by onboarding again)."""
    if item.get("status") != SourceStatus.PENDING_REBOOT:
        return drift, False
    loaded = all(entry.kind != "pgaudit-not-loaded" for entry in drift)
    return [entry for entry in drift if entry.kind != "pgaudit-not-loaded"], loaded


def _prepare_greens(
    drift: list[Drift], pgaudit_log: str, reboot: str, auto_repair: bool, life: Life | None
) -> tuple[list[Drift], list[dict[str, Any]]]:
    """With AutoRepair, each green without pgaudit gets the source's group of its family (prepare_green in
    steps/parameter_group.py); it then loads pgaudit only at a reboot, reported as drift `green-pgaudit-not-loaded`
    until done. With the source's reboot policy `immediate`, each run reboots one waiting member of the green, as
    Reboot Instances would (the green serves no traffic before switchover); with `deferred` the reboot is its
    owner's, before switchover (a green still waiting then is the source's `pgaudit-not-loaded`, repaired by
    onboarding). Returns the drift left, and what was done or refused, per green."""
    if not auto_repair or life is None or life.prepare_green is None:
        return drift, []
    left: list[Drift] = []
    greens: list[dict[str, Any]] = []
    for entry in drift:
        if entry.kind == "green-pgaudit-not-loaded" and reboot == "immediate" and life.reboot_green is not None:
            left.append(entry)
            try:
                greens.append({"green": entry.resource, "changes": list(life.reboot_green(entry.resource))})
            except ArchiverError as error:  # the green's members untagged, or refused: the reboot stays its owner's
                greens.append({"green": entry.resource, "not_rebooted": str(error)})
            continue
        if entry.kind != "green-pgaudit-not-preloaded":
            left.append(entry)
            continue
        try:
            prepared = life.prepare_green(entry.resource, pgaudit_log)
        except ArchiverError as error:  # not consented on the green, or refused: left to its owner, as before
            left.append(entry)
            greens.append({"green": entry.resource, "not_prepared": str(error)})
            continue
        greens.append({"green": entry.resource, "changes": list(prepared.changes),
                       "reboot_before_switchover": prepared.reboot})  # fmt: skip
        if prepared.reboot:
            left.append(Drift(kind="green-pgaudit-not-loaded", resource=entry.resource, expected=prepared.reboot,
                              actual=f"pgaudit-archiver attached {prepared.group}; was {entry.actual}"))  # fmt: skip
    return left, greens


def reconcile_source(
    source: Source,
    settings: VerifySourceSettings,
    registry: Registry,
    service: ClusterService,
    find: FindDrift,
    auto_repair: bool,
    send_canary: Callable[[dict[str, Any]], str | None] | None = None,
    extension_present: Callable[[str, str], bool] | None = None,
    pgaudit_overrides: Callable[[str, str], list[PgauditOverride]] | None = None,
    cluster_status: Callable[[], str | None] | None = None,
    life: Life | None = None,
) -> Verification:
    """Check one source; repair by onboarding again, or record it as drifted; then send its next canary.
    `extension_present(database, secret_arn)` checks the pgaudit extension onboarding created with the owner's
    database user; one the owner must create (no such user) cannot be checked, and is no drift. With the same user,
    `pgaudit_overrides(database, secret_arn)` reads pgaudit.log set per database or role. `cluster_status()` is
    asked only of a source that delivered nothing for SilentAfterMinutes."""
    item = registry.get(source) or {}
    request = item.get("request") or {"account_id": source.account_id, "region": source.region,
                                      "cluster_id": source.cluster_id}  # fmt: skip
    identity = _identity(item, life, lambda where: _gone(source, item, request, where, settings, registry, service))
    if isinstance(identity, Verification):  # the database left the source's name
        return identity
    # Checked, and repaired, against the policy: a request below the minimum is no desired state of its own.
    request, below_policy = settings.audit_policy().desired(request, item.get(EXCEPTION_FIELD))
    checked_at = datetime.now(tz=UTC)
    full = full_check_due(item, checked_at)
    try:
        drift = find(source, request, full)
        if drift and not full:  # worth the archive side's calls now: the repair, or the report, needs all of it
            full, drift = True, find(source, request, True)
    except SourceAccessDeniedError as error:  # the source took its role away; other errors fail the step
        drift = [Drift(kind="unverifiable", resource=str(source), actual=str(error))]
    drift = [*below_policy, *drift, *_late_canary(item, request, settings)]
    drift, rebooted = _known_at_onboarding(item, drift)
    drift, greens = _prepare_greens(
        drift,
        request.get("pgaudit_log") or settings.audit_policy().resolve(request).pgaudit_log,
        request.get("reboot") or settings.default_reboot,
        auto_repair,
        life,
    )
    extension_drift, extension_note = _check_extension(item, extension_present)
    drift += extension_drift
    override_drifts, overrides_note = _check_overrides(item, request, settings, pgaudit_overrides)
    drift += override_drifts
    # With any drift that explains it, both are reported; a source waiting for its reboot (pgaudit not loaded yet)
    # is silent by design, and known since onboarding.
    if cluster_status is not None and item.get("status") != "pending-reboot":
        silent = silence(item, cluster_status, datetime.now(tz=UTC), settings.silent_after_minutes)
        if silent:
            drift.append(silent)
    verification: dict[str, Any] = {
        "checked_at": now(),
        "drift": [entry.message for entry in drift],
        "drift_details": [entry.model_dump(mode="json") for entry in drift],
        FULL_CHECK_FIELD: checked_at.isoformat(timespec="seconds")
        if full
        else (item.get("last_verification") or {}).get(FULL_CHECK_FIELD),
        **({"greens": greens} if greens else {}),
    }
    if extension_note:
        verification["extension_not_checked"] = extension_note
    if overrides_note:
        verification["pgaudit_overrides_not_checked"] = overrides_note
    quiet = minutes_without_delivery(item, datetime.now(tz=UTC))
    if request.get("canary") and send_canary is not None:
        not_sent = send_canary(request)
        if not_sent:
            verification["canary_not_sent"] = not_sent
    if not drift and rebooted and auto_repair:  # "reboot, then onboard again", as onboarding asked the owner
        started = service.start("onboard", source, onboard_input(source, request))
        registry.finish(
            source,
            SourceStatus.ONBOARDING,
            {"last_verification": {**verification, "finish_onboarding": started.execution_arn}, **identity},
        )
        return Verification(source=source, drift=(), status=SourceStatus.ONBOARDING,
                            repair_execution_arn=started.execution_arn, minutes_without_delivery=quiet)  # fmt: skip
    if not drift:
        status = (
            SourceStatus.PENDING_REBOOT if item.get("status") == SourceStatus.PENDING_REBOOT else SourceStatus.ACTIVE
        )
        registry.finish(source, status, {"last_verification": verification, **identity})
        return Verification(source=source, drift=(), status=status, minutes_without_delivery=quiet)
    repairable = [entry for entry in drift if entry.kind not in NOT_REPAIRED_BY_ONBOARDING]
    if auto_repair and repairable and not any(entry.kind in OWNERS_TO_REPAIR for entry in drift):
        onboarding = onboard_input(source, request)
        started = service.start("onboard", source, onboarding)
        registry.finish(
            source,
            SourceStatus.ONBOARDING,
            {"last_verification": {**verification, "repair": started.execution_arn}, **identity},
        )
        return Verification(source=source, drift=tuple(drift), status=SourceStatus.ONBOARDING,
                            repair_execution_arn=started.execution_arn, minutes_without_delivery=quiet)  # fmt: skip
    registry.finish(source, SourceStatus.DRIFTED, {"last_verification": verification, **identity})
    return Verification(source=source, drift=tuple(drift), status=SourceStatus.DRIFTED, minutes_without_delivery=quiet)


class Life:
    """What reconciliation asks about a source's database over its life (steps/lifecycle.py): where its recorded
    resource id is now, removing our filter from a log group that is no longer the source's, and giving a pending
    blue/green deployment's green the source's pgaudit group: `prepare_green(green identifier, pgaudit.log)`, then
    one step of its reboot: `reboot_green(green identifier)`."""

    def __init__(
        self,
        locate: Callable[[str | None], Whereabouts],
        remove_filter: Callable[[Source], tuple[str, ...]],
        prepare_green: Callable[[str, str], GreenPrepared] | None = None,
        reboot_green: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        self.locate = locate
        self.remove_filter = remove_filter
        self.prepare_green = prepare_green
        self.reboot_green = reboot_green


def _identity(
    item: dict[str, Any], life: Life | None, gone: Callable[[Whereabouts], Verification]
) -> dict[str, Any] | Verification:
    """The fields that record the database the source is (its resource id and current name); or, for a database
    gone from the source's name, what `gone` did about it."""
    if life is None:
        return {}
    where = life.locate(item.get("resource_id"))
    if where.state in ("deleted", "renamed") or item.get("status") == SourceStatus.DELETED:
        return gone(where)
    if where.state == "missing":  # drift cluster-missing, as find_drift reports it
        return {}
    assert where.database is not None
    identity: dict[str, Any] = {"resource_id": where.database.resource_id, "identifier": where.database.identifier}
    if where.state == "switched-over":
        identity["switched_over"] = _switched_over(item, where, life)
    return identity


def _switched_over(item: dict[str, Any], where: Whereabouts, life: Life) -> dict[str, Any]:
    """The registered name now holds the green: the source follows the name (its log group is the same), and our
    filter leaves the old blue's renamed log group, whose database is no source of ours."""
    assert where.database is not None and where.old_blue is not None
    old_blue = Source(account_id=item["account_id"], region=item["region"], cluster_id=where.old_blue,
                      kind=where.database.kind)  # fmt: skip
    return {
        "at": now(),
        "from_resource_id": item.get("resource_id"),
        "to_resource_id": where.database.resource_id,
        "old_blue": where.old_blue,
        "changes": list(life.remove_filter(old_blue)),
    }


def _gone(
    source: Source,
    item: dict[str, Any],
    request: dict[str, Any],
    where: Whereabouts,
    settings: VerifySourceSettings,
    registry: Registry,
    service: ClusterService,
) -> Verification:
    """A source whose database left its name: renamed (the source follows it to the new name) or deleted (kept
    for the grace period, then offboarded). Never drift, never a repair; archived objects are never touched."""
    checked = {"checked_at": now(), "drift": [], "drift_details": []}
    if where.state == "renamed" and item.get("status") != SourceStatus.DELETED:
        assert where.database is not None
        new_source = renamed_source(source, where.database)
        # The new name's source is this database: its original settings (offboarding restores them) come along.
        registry.set_fields(new_source, {"resource_id": where.database.resource_id, "renamed_from": source.cluster_id,
                                         "original": item.get("original") or {}})  # fmt: skip
        onboarding = service.start("onboard", new_source, onboard_input(new_source, request))
        registry.finish(source, SourceStatus.DELETED, {"renamed_to": new_source.cluster_id, "deleted_at": now(),
                                                        "last_verification": checked})  # fmt: skip
        logger.info("source renamed", extra={"source": str(source), "to": str(new_source)})
        offboarding = _offboard(source, settings, service)
        status = SourceStatus.OFFBOARDING if offboarding else SourceStatus.DELETED
        return Verification(source=source, drift=(), status=status, repair_execution_arn=onboarding.execution_arn)
    deleted_at = record_deleted(registry, source, item, {"last_verification": checked})
    if deleted_at is None:  # claimed since it was read: the claiming workflow records the source's status
        return Verification(source=source, drift=(), status=SourceStatus(item["status"]))
    if grace_over(deleted_at, settings.deleted_source_grace_days, datetime.now(tz=UTC)) and _offboard(
        source, settings, service
    ):
        return Verification(source=source, drift=(), status=SourceStatus.OFFBOARDING)
    return Verification(source=source, drift=(), status=SourceStatus.DELETED)


def _offboard(source: Source, settings: VerifySourceSettings, service: ClusterService) -> bool:
    if not settings.offboard_state_machine_arn:
        return False
    service.start("offboard", source, offboard_input(source))
    return True


def _check_extension(
    item: dict[str, Any], extension_present: Callable[[str, str], bool] | None
) -> tuple[list[Drift], str | None]:
    """(drift, why the extension was not checked): checked only where onboarding created it (or found it) with the
    owner's database user, whose secret the registry keeps; a check that fails is noted, not drift."""
    extension = item.get("extension") or {}
    if extension_present is None or not extension or item.get("status") == SourceStatus.PENDING_REBOOT:
        return [], None
    database, secret_arn = str(extension.get("database")), extension.get("secret_arn")
    if extension.get("status") not in ("created", "present") or not secret_arn:
        return [], f"the owner runs `{extension.get('sql')}` in {database}: {extension.get('reason')}"
    try:
        present = extension_present(database, str(secret_arn))
    except ArchiverError as error:  # the owner deleted the secret or revoked the user; throttled: next run
        return [], f"the Data API refused the check with secret {secret_arn} ({error.aws_error_code})"
    return ([] if present else [Drift(kind="extension-missing", resource=database)]), None


def _check_overrides(
    item: dict[str, Any],
    request: dict[str, Any],
    settings: VerifySourceSettings,
    read: Callable[[str, str], list[PgauditOverride]] | None,
) -> tuple[list[Drift], str | None]:
    """(drift, why pgaudit.log set per database or role was not read): read as the database user the extension check
    uses; without it (no Data API, no user's secret) such settings cannot be seen (docs/security.md)."""
    extension = item.get("extension") or {}
    if read is None or not extension or item.get("status") == "pending-reboot":
        return [], None
    secret_arn = extension.get("secret_arn")
    if extension.get("status") not in ("created", "present") or not secret_arn:
        return [], "no database user the Data API may run as: ALTER DATABASE/ROLE ... SET pgaudit.log cannot be seen"
    try:
        overrides = read(str(extension.get("database")), str(secret_arn))
    except ArchiverError as error:  # the owner revoked the user, or throttled: the next run reads them
        return [], f"the Data API refused the read with secret {secret_arn} ({error.aws_error_code})"
    expected = request.get("pgaudit_log") or settings.audit_policy().resolve(request).pgaudit_log
    return override_drift(overrides, expected), None
