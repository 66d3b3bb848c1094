"""Configure Parameter Group: pgaudit in shared_preload_libraries and pgaudit.log, in a group of this database's own.

The group is the one that holds the database's settings (kinds.py): the DB cluster parameter group of an Aurora or
Multi-AZ DB cluster, the DB parameter group of a DB instance. Everything below holds for both; "cluster" reads as
"database".

The workflow never modifies a group it did not create: a default group cannot be modified, a custom one may be
shared with other clusters or managed by its owner's tooling, and the source role may modify only pgaudit-*
groups. The cluster gets `pgaudit-<cluster>`, created from the family's defaults or copied from its custom
group (keeping every setting), and offboarding re-attaches the original.

A group serves one family, and RDS attaches it only to a cluster of that family (CreateDBClusterParameterGroup, API
reference). After a major version upgrade the cluster runs a group of the new family (a default one, or its owner's):
it then gets `pgaudit-<cluster>-<family>`, copied from the owner's new group, or created from the new family's
defaults with the settings of our group of the old family that the new family still has.

Both parameters also exist in each instance's DB parameter group, where a value set takes precedence over the
cluster group's (Aurora User Guide, "Working with DB cluster parameter groups"). An instance whose group sets
shared_preload_libraries without pgaudit, or pgaudit.log to other classes than requested, would make the cluster
group's values dead letters; that group is its owner's, so onboarding stops before changing anything in the source
account and says which instance, group and parameter, and what the owner can do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pgaudit_archiver.audit_policy import same_classes
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.consent import CONSENT_TAG_KEY, CONSENT_TAG_VALUE, consented
from pgaudit_archiver.errors import ClusterNotEligibleError, ResourceConflictError
from pgaudit_archiver.kinds import DatabaseKind, kind_of
from pgaudit_archiver.models import (
    DatabaseFacts,
    Drift,
    Model,
    ParameterGroupResult,
    ResolvedRequest,
    Source,
)
from pgaudit_archiver.naming import parameter_group_name, source_tags

PRELOAD = "shared_preload_libraries"
PGAUDIT_LOG = "pgaudit.log"
LIBRARY = "pgaudit"


class InstanceOverride(Model):
    """A value of PRELOAD or PGAUDIT_LOG set in an instance's DB parameter group, overriding the cluster group's."""

    instance_id: str
    parameter_group: str
    parameter: str
    value: str | None

    @property
    def where(self) -> str:
        return f"DB parameter group {self.parameter_group} of instance {self.instance_id}"

    def drift(self, pgaudit_log: str | None) -> Drift:
        if self.parameter == PRELOAD:
            return Drift(
                kind="instance-pgaudit-not-preloaded", resource=self.where, expected=LIBRARY, actual=self.value
            )
        return Drift(kind="instance-pgaudit-log", resource=self.where, expected=pgaudit_log, actual=self.value)

    def remedy(self, pgaudit_log: str) -> str:
        wanted = f"a list that includes {LIBRARY}" if self.parameter == PRELOAD else pgaudit_log
        method = "pending-reboot" if self.parameter == PRELOAD else "immediate"
        return (
            f"in {self.parameter_group}, reset {self.parameter} so that the instance takes the cluster's value "
            f"(aws rds reset-db-parameter-group --db-parameter-group-name {self.parameter_group} --parameters "
            f"ParameterName={self.parameter},ApplyMethod={method}) or set it to {wanted} yourself"
        )


def libraries_of(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def instance_overrides(rds: SourceRds, instance_ids: Iterable[str]) -> list[InstanceOverride]:
    """Every PRELOAD and PGAUDIT_LOG value the members' DB parameter groups set (Source=user)."""
    members_of: dict[str, list[str]] = {}
    for instance_id in instance_ids:
        instance = rds.instance(instance_id)
        for name, _ in instance.parameter_groups if instance else ():
            if not name.startswith("default."):  # a default group cannot be modified, so it sets nothing
                members_of.setdefault(name, []).append(instance_id)
    overrides = []
    for name, members in members_of.items():
        values = rds.user_parameter_values(name, {PRELOAD, PGAUDIT_LOG})
        overrides += [
            InstanceOverride(instance_id=member, parameter_group=name, parameter=parameter, value=value)
            for member in members
            for parameter, value in sorted(values.items())
        ]
    return overrides


def conflicting(overrides: Iterable[InstanceOverride], pgaudit_log: str | None) -> list[InstanceOverride]:
    """The overrides that defeat onboarding: pgaudit left out of PRELOAD, or PGAUDIT_LOG not the requested classes
    (None: not checked)."""
    return [
        override
        for override in overrides
        if (override.parameter == PRELOAD and LIBRARY not in libraries_of(override.value))
        or (
            override.parameter == PGAUDIT_LOG
            and pgaudit_log is not None
            and not same_classes(override.value, pgaudit_log)
        )
    ]


def refuse_overrides(rds: SourceRds, request: ResolvedRequest, cluster: DatabaseFacts) -> None:
    """Stop, naming each instance, group and parameter, when an instance's group overrides what onboarding sets (a
    DB cluster's members only: a DB instance's DB parameter group is the one onboarding configures)."""
    if not kind_of(cluster.kind).is_cluster:
        return
    blocking = conflicting(instance_overrides(rds, (m.instance_id for m in cluster.members)), request.pgaudit_log)
    if not blocking:
        return
    found = "; ".join(
        f"{override.where} sets {override.parameter} to {override.value!r}, which takes precedence over the cluster "
        "parameter group"
        for override in blocking
    )
    remedies = "; ".join(dict.fromkeys(override.remedy(request.pgaudit_log) for override in blocking))
    raise ClusterNotEligibleError(
        f"{found}. pgaudit-archiver does not modify parameter groups it did not create, and changed nothing in the "
        "source account",
        remedy=f"the group's owner can, {remedies}; then onboard again",
    )


def with_library(libraries: str | None, library: str = LIBRARY) -> str:
    """Add `library` to a shared_preload_libraries value, keeping every library already there, in order."""
    present = [item.strip() for item in (libraries or "").split(",") if item.strip()]
    return ",".join(present if library in present else [*present, library])


def family_of(rds: SourceRds, group_name: str, kind: DatabaseKind = DatabaseKind.AURORA_CLUSTER) -> str:
    family = (rds.describe_parameter_group(group_name, kind) or {}).get("DBParameterGroupFamily")
    if not family:
        raise ClusterNotEligibleError(f"cannot read the family of parameter group {group_name}")
    return str(family)


def our_group_for(
    rds: SourceRds, cluster_id: str, family: str, kind: DatabaseKind = DatabaseKind.AURORA_CLUSTER
) -> tuple[str, dict[str, Any] | None]:
    """Our group for `family` and its description (None: not made yet): `pgaudit-<database>`, the name every
    onboarding so far gave it, unless that one is of another family (the database was upgraded since)."""
    first = parameter_group_name(cluster_id)
    existing = rds.describe_parameter_group(first, kind)
    if existing is None or existing.get("DBParameterGroupFamily") == family:
        return first, existing
    name = parameter_group_name(cluster_id, family)
    return name, rds.describe_parameter_group(name, kind)


def _carry_over(rds: SourceRds, cluster_id: str, family: str, group: str, kind: DatabaseKind) -> list[str]:
    """Our group of an earlier family's own settings, into `group` (new, of `family`): those the family still has;
    PRELOAD and PGAUDIT_LOG are set after."""
    earlier = parameter_group_name(cluster_id)
    if (rds.describe_parameter_group(earlier, kind) or {}).get("DBParameterGroupFamily") in (None, family):
        return []
    settings = {p["ParameterName"]: p for p in rds.user_cluster_parameters(earlier, kind)}
    settings = {name: p for name, p in settings.items() if name not in (PRELOAD, PGAUDIT_LOG)}
    known = rds.known_parameters(group, set(settings), kind) if settings else set()
    carried = [
        {"ParameterName": name, "ParameterValue": str(settings[name].get("ParameterValue")),
         "ApplyMethod": "immediate" if settings[name].get("ApplyType") == "dynamic" else "pending-reboot"}
        for name in sorted(known) if settings[name].get("ParameterValue") is not None
    ]  # fmt: skip
    if carried:
        rds.modify_parameters(group, carried, kind)
    dropped = sorted(set(settings) - known)
    note = f" ({', '.join(dropped)} not in {family}: left out)" if dropped else ""
    return [f"carried {len(carried)} setting(s) of {earlier} into {group}{note}"] if carried or dropped else []


def _group_for_database(
    rds: SourceRds, source: Source, current: str, kind: DatabaseKind, database_id: str
) -> tuple[str, list[str]]:
    """The group to configure: the source's own for the family of `current` (the group `database_id` runs), made now
    from `current` if need be, and attached to `database_id`: the source's database, or the green that will take
    its name at a blue/green switchover."""
    family = family_of(rds, current, kind)
    ours, existing = our_group_for(rds, source.cluster_id, family, kind)
    if current == ours:
        return current, []
    if current.startswith("default."):
        copy_from = None  # a default group cannot be modified; start from the family's defaults
        reason = f"{current} cannot be modified"
    else:
        copy_from = current  # every setting of the owner's group, which itself stays as it is
        reason = f"{current} stays as its owner set it"

    changes = []
    if existing is None:
        description = f"pgaudit-archiver: {source.cluster_id}, based on {current}"
        tags = source_tags(source)
        if copy_from:
            rds.copy_parameter_group(copy_from, ours, description, tags, kind)
            changes.append(f"created parameter group {ours} because {reason}")
        else:
            rds.create_parameter_group(ours, family, description, tags, kind)
            changes.append(f"created parameter group {ours} because {reason}")
            changes += _carry_over(rds, source.cluster_id, family, ours, kind)
    elif "pgaudit-archiver" not in existing.get("Description", ""):
        raise ResourceConflictError(
            f"parameter group {ours} exists and was not made by pgaudit-archiver",
            remedy=f"rename or delete {ours}, or attach it to {database_id} yourself",
        )
    rds.attach_parameter_group(database_id, ours, kind)
    return ours, [*changes, f"attached {ours} to {database_id}"]


def _set_pgaudit(
    rds: SourceRds, group: str, values: dict[str, str | None], pgaudit_log: str, kind: DatabaseKind
) -> tuple[str, list[str]]:
    """pgaudit into PRELOAD (every library there kept) and PGAUDIT_LOG as asked, in our `group` whose current
    `values` these are: (the new preload list, the changes)."""
    updates, changes = [], []
    libraries = with_library(values[PRELOAD])
    if libraries != values[PRELOAD]:
        updates.append({"ParameterName": PRELOAD, "ParameterValue": libraries, "ApplyMethod": "pending-reboot"})
        changes.append(f"{PRELOAD} = {libraries} in {group}")
    if values[PGAUDIT_LOG] != pgaudit_log:
        updates.append({"ParameterName": PGAUDIT_LOG, "ParameterValue": pgaudit_log, "ApplyMethod": "immediate"})
        changes.append(f"{PGAUDIT_LOG} = {pgaudit_log} in {group}")
    if updates:
        rds.modify_parameters(group, updates, kind)
    return libraries, changes


def configure_parameter_group(rds: SourceRds, request: ResolvedRequest, cluster: DatabaseFacts) -> ParameterGroupResult:
    refuse_overrides(rds, request, cluster)
    kind = cluster.kind
    original_group = cluster.parameter_group
    original = rds.parameter_values(original_group, {PRELOAD, PGAUDIT_LOG}, kind)
    group, changes = _group_for_database(rds, request.source, original_group, kind, request.cluster_id)
    values = original if group == original_group else rds.parameter_values(group, {PRELOAD, PGAUDIT_LOG}, kind)
    libraries, set_now = _set_pgaudit(rds, group, values, request.pgaudit_log, kind)
    changes += set_now

    # A new group or a new preload list takes effect only at reboot; so does one changed by an earlier run.
    needs_reboot = group != original_group or libraries != values[PRELOAD]
    pending = tuple(
        member.instance_id for member in cluster.members if needs_reboot or member.parameter_group_status != "in-sync"
    )
    return ParameterGroupResult(
        resources={"parameter_group": group},
        changes=tuple(changes),
        parameter_group=group,
        original_parameter_group=original_group,
        original_shared_preload_libraries=original[PRELOAD],
        original_pgaudit_log=original[PGAUDIT_LOG],
        reboot_required=bool(pending),
        pending_reboot=pending,
    )


def prepare_green(
    rds: SourceRds, source: Source, green: DatabaseFacts, pgaudit_log: str
) -> tuple[str, tuple[str, ...], bool]:
    """A blue/green deployment's green, made ready to take the source's name at switchover: the source's own group of
    the GREEN's family (a major-upgrade green runs a new family), made as after a major upgrade (copied from the
    green's own group, or from the family's defaults with our earlier group's settings), with pgaudit, attached to
    the green. Only where the green itself carries the owner's consent tag: IAM authorizes ModifyDBCluster and
    ModifyDBInstance on the green's own tags (source-account/template.yaml). Returns the group, the changes and
    whether the green loads pgaudit only at its next reboot (a new group, or a new preload list, as at onboarding)."""
    if not consented(green.tags):
        raise ClusterNotEligibleError(
            f"the green {green.identifier} is not tagged {CONSENT_TAG_KEY}={CONSENT_TAG_VALUE}, so the source role "
            "may not change it",
            remedy=f"tag {green.arn} {CONSENT_TAG_KEY}={CONSENT_TAG_VALUE} (the blue's tags are the owner's to carry "
            "over) or give it a group with pgaudit yourself",
        )
    group, changes = _group_for_database(rds, source, green.parameter_group, green.kind, green.identifier)
    values = rds.parameter_values(group, {PRELOAD, PGAUDIT_LOG}, green.kind)
    libraries, set_now = _set_pgaudit(rds, group, values, pgaudit_log, green.kind)
    return group, tuple([*changes, *set_now]), group != green.parameter_group or libraries != values[PRELOAD]
