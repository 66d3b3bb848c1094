"""In-memory stand-ins for the data-access objects (aws/), answering as the AWS APIs do for what the steps use.

Each fake keeps the state a test sets up and inspects, and records its mutating calls in `mutations`, so a test can
say "a second run changes nothing" by asserting that list stays empty. AWS refusals are the project errors the real
data-access layer raises (aws/client_errors.py); `refuse(operation, error)` makes a fake's next call of
`operation` fail with `error`.
"""

from __future__ import annotations

import base64
import copy
import json
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local.aws_rules import (
    DEFAULT_GROUP_MODIFIED_CODE,
    IN_SYNC,
    PENDING_REBOOT,
    SUBSCRIPTION_FILTERS_PER_LOG_GROUP,
    exports_after,
    is_default_parameter_group,
    parameter_group_family,
    waits_for_reboot,
    writer_reboots_readers,
)
from local.template import load_settings
from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.aws.logs import ArchiveLogs, SourceLogs
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.rds_data import SourceRdsData
from pgaudit_archiver.aws.registry import Registry, now, source_key
from pgaudit_archiver.aws.role_holders import RETIREMENT_LEASE_SECONDS, RoleHolders, holders_key
from pgaudit_archiver.aws.secrets import SecretEntry, SourceSecrets
from pgaudit_archiver.aws.stepfunctions import ArchiveStepFunctions
from pgaudit_archiver.consent import CONSENT_TAG_KEY, CONSENT_TAG_VALUE
from pgaudit_archiver.errors import ArchiverError, AwsRequestError
from pgaudit_archiver.kinds import DatabaseKind, kind_of
from pgaudit_archiver.models import ResolvedRequest, Source
from pgaudit_archiver.settings import Settings
from pgaudit_archiver.status import RUNNING_STATUSES, SourceStatus
from pgaudit_archiver.steps.validate import parse_request

ACCOUNT = "111122223333"
ARCHIVE_ACCOUNT = "123456789012"
REGION = "eu-west-1"
FAMILY = "aurora-postgresql16"
DEFAULT_GROUP = f"default.{FAMILY}"


AURORA = DatabaseKind.AURORA_CLUSTER


def refusal(operation: str, code: str) -> AwsRequestError:
    """What the data-access layer raises when AWS refuses `operation` with `code` (a validation error)."""
    return AwsRequestError(f"{operation} was refused: injected", aws_error_code=code)


class Recording:
    """Mutating calls made, in order, as `Operation target` strings; refusals to raise on the next calls."""

    def __init__(self) -> None:
        self.mutations: list[str] = []
        self._refusals: dict[str, ArchiverError] = {}

    def refuse(self, operation: str, error: ArchiverError) -> None:
        self._refusals[operation] = error

    def _call(self, operation: str, target: str = "", *, mutates: bool = False) -> None:
        error = self._refusals.pop(operation, None)
        if error is not None:
            raise error
        if mutates:
            self.mutations.append(f"{operation} {target}".strip())


# ------------------------------------------------------------------------------------------------------------ RDS
def _scope(kind: DatabaseKind) -> str:
    return kind_of(kind).group_scope


class FakeRds(Recording, SourceRds):
    """DB clusters (Aurora and Multi-AZ), DB instances (standalone or members), DB cluster parameter groups (`groups`)
    and DB parameter groups (`instance_groups`); every database is `available` unless a test says not. The typed facts
    (`database`, `instance`) are the real data-access layer's, built on the describe answers below."""

    def __init__(self) -> None:
        Recording.__init__(self)
        self.clusters: dict[str, dict[str, Any]] = {}
        self.blue_greens: list[dict[str, Any]] = []  # DescribeBlueGreenDeployments entries
        self.instances: dict[str, dict[str, Any]] = {}
        self.instance_groups: dict[str, dict[str, Any]] = {}  # DB parameter groups: family, description, parameters
        self.db_parameter_reads: list[str] = []  # DB parameter groups described
        self.reboots: list[str] = []  # every instance rebooted, readers a writer took with it included
        self.cluster_reboots: list[str] = []  # RebootDBCluster (Multi-AZ DB clusters)
        self.stuck: set[str] = set()  # instances whose parameter group status a reboot does not clear
        self.unknown_parameters: dict[str, set[str]] = {}  # family -> parameters it lacks
        self.groups: dict[str, dict[str, Any]] = {
            DEFAULT_GROUP: {
                "family": FAMILY,
                "description": f"Default cluster parameter group for {FAMILY}",
                "parameters": {},
            },
        }

    def _store(self, kind: DatabaseKind) -> dict[str, dict[str, Any]]:
        return self.groups if _scope(kind) == "cluster" else self.instance_groups

    # -- set-up helpers
    def _instance(
        self, instance_id: str, *, engine: str, engine_version: str, group: str, consent: bool,
        tags: dict[str, str] | None = None, cluster_id: str | None = None, status: str = "available",
    ) -> dict[str, Any]:  # fmt: skip
        tags = ({CONSENT_TAG_KEY: CONSENT_TAG_VALUE} if consent else {}) | (tags or {})
        instance: dict[str, Any] = {
            "DBInstanceIdentifier": instance_id,
            "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{instance_id}",
            "DbiResourceId": f"db-{instance_id.upper()}",
            "Engine": engine,
            "EngineVersion": engine_version,
            "TagList": [{"Key": key, "Value": value} for key, value in tags.items()],
            "DBInstanceStatus": status,
            "DBParameterGroups": [{"DBParameterGroupName": group, "ParameterApplyStatus": IN_SYNC}],
            "EnabledCloudwatchLogsExports": [],
            "DBName": "app",
        }
        if cluster_id:
            instance["DBClusterIdentifier"] = cluster_id
        self.instances[instance_id] = instance
        return instance

    def add_cluster(
        self,
        cluster_id: str,
        *,
        instances: int = 1,
        group: str | None = None,
        engine: str = "aurora-postgresql",
        status: str = "available",
        data_api: bool = False,
        tags: dict[str, str] | None = None,
        engine_version: str = "16.4",
        consent: bool | None = None,
    ) -> dict[str, Any]:
        """A cluster (engine postgres: a Multi-AZ DB cluster); with `consent` (by default: when no tags are given) its
        owner tagged it, and its instances, pgaudit-archiver=enabled (consent.py)."""
        consent = tags is None if consent is None else consent
        tags = ({CONSENT_TAG_KEY: CONSENT_TAG_VALUE} if consent else {}) | (tags or {})
        family = parameter_group_family(engine, engine_version)
        group = group or f"default.{family}"
        self.groups.setdefault(group, {"family": family, "description": "default", "parameters": {}})
        members = [f"{cluster_id}-{index}" for index in range(1, instances + 1)]
        for member in members:
            self._instance(member, engine=engine, engine_version=engine_version, group=f"default.{family}",
                           consent=consent, cluster_id=cluster_id)  # fmt: skip
        cluster: dict[str, Any] = {
            "DBClusterIdentifier": cluster_id,
            "DBClusterArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{cluster_id}",
            "DbClusterResourceId": f"cluster-{cluster_id.upper()}",
            "Engine": engine,
            "EngineVersion": engine_version,
            "Status": status,
            "DBClusterParameterGroup": group,
            "HttpEndpointEnabled": data_api,
            "MasterUserSecret": {"SecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!{cluster_id}"},
            "DatabaseName": "app",
            "EnabledCloudwatchLogsExports": [],
            "TagList": [{"Key": key, "Value": value} for key, value in tags.items()],
            "DBClusterMembers": [
                {
                    "DBInstanceIdentifier": member,
                    "IsClusterWriter": index == 0,
                    "DBClusterParameterGroupStatus": "in-sync",
                }
                for index, member in enumerate(members)
            ],
        }
        self.clusters[cluster_id] = cluster
        return cluster

    def add_multi_az_cluster(self, cluster_id: str, **options: Any) -> dict[str, Any]:
        """A Multi-AZ DB cluster: engine postgres, a writer and two readable standbys."""
        return self.add_cluster(cluster_id, engine="postgres", instances=options.pop("instances", 3), **options)

    def add_instance(
        self,
        instance_id: str,
        *,
        group: str | None = None,
        engine: str = "postgres",
        engine_version: str = "16.4",
        status: str = "available",
        tags: dict[str, str] | None = None,
        consent: bool | None = None,
    ) -> dict[str, Any]:
        """A standalone DB instance (RDS for PostgreSQL) with its DB parameter group (the family's default unless
        `group`, one added with add_instance_group)."""
        consent = tags is None if consent is None else consent
        family = parameter_group_family(engine, engine_version)
        group = group or f"default.{family}"
        self.instance_groups.setdefault(group, {"family": family, "description": "default", "parameters": {}})
        return self._instance(instance_id, engine=engine, engine_version=engine_version, group=group,
                              consent=consent, tags=tags, status=status)  # fmt: skip

    def add_group(
        self, name: str, parameters: dict[str, str] | None = None, description: str = "owner's", family: str = FAMILY
    ) -> None:
        self.groups[name] = {"family": family, "description": description, "parameters": dict(parameters or {})}

    def add_instance_group(
        self,
        name: str,
        parameters: dict[str, str] | None = None,
        description: str = "owner's",
        family: str = "postgres16",
    ) -> None:
        self.instance_groups[name] = {
            "family": family,
            "description": description,
            "parameters": dict(parameters or {}),
        }

    def upgrade(self, cluster_id: str, engine_version: str, group: str) -> None:
        """The owner's major version upgrade: the cluster runs `group` (of the new family) afterwards, every member in
        sync (the upgrade restarts them)."""
        engine = self.clusters[cluster_id]["Engine"]
        family = parameter_group_family(engine, engine_version)
        self.groups.setdefault(group, {"family": family, "description": "", "parameters": {}})
        cluster = self.clusters[cluster_id]
        cluster.update(EngineVersion=engine_version, DBClusterParameterGroup=group)
        self._members_of_groups(group, "in-sync")

    def set_instance_group(self, instance_id: str, group: str, parameters: dict[str, str]) -> None:
        """Give an instance a DB parameter group of its owner's, setting `parameters` (Source=user)."""
        family = parameter_group_family(
            self.instances[instance_id]["Engine"], self.instances[instance_id]["EngineVersion"]
        )
        self.add_instance_group(group, parameters, family=family)
        self.instances[instance_id]["DBParameterGroups"] = [
            {"DBParameterGroupName": group, "ParameterApplyStatus": "in-sync"}
        ]

    def _members_of_groups(self, group: str, status: str) -> None:
        for cluster in self.clusters.values():
            if cluster["DBClusterParameterGroup"] == group:
                for member in cluster["DBClusterMembers"]:
                    member["DBClusterParameterGroupStatus"] = status

    def _instances_of_group(self, group: str, status: str) -> None:
        for instance in self.instances.values():
            for attached in instance["DBParameterGroups"]:
                if attached["DBParameterGroupName"] == group:
                    attached["ParameterApplyStatus"] = status

    # -- SourceRds
    def describe_cluster(self, cluster_id: str) -> dict[str, Any] | None:
        self._call("DescribeDBClusters")
        cluster = self.clusters.get(cluster_id.rsplit(":", 1)[-1])  # an identifier or an ARN
        return copy.deepcopy(cluster) if cluster else None

    def describe_instance(self, instance_id: str) -> dict[str, Any] | None:
        self._call("DescribeDBInstances")
        instance = self.instances.get(instance_id.rsplit(":", 1)[-1])  # an identifier or an ARN
        return copy.deepcopy(instance) if instance else None

    def describe_cluster_by_resource_id(self, resource_id: str) -> dict[str, Any] | None:
        self._call("DescribeDBClusters")
        found = [c for c in self.clusters.values() if c.get("DbClusterResourceId") == resource_id]
        return copy.deepcopy(found[0]) if found else None

    def describe_instance_by_resource_id(self, resource_id: str) -> dict[str, Any] | None:
        self._call("DescribeDBInstances")
        found = [i for i in self.instances.values() if i.get("DbiResourceId") == resource_id]
        return copy.deepcopy(found[0]) if found else None

    def describe_blue_green_deployments(self, arn: str, role: str = "source") -> list[dict[str, Any]]:
        self._call("DescribeBlueGreenDeployments")
        return [copy.deepcopy(d) for d in self.blue_greens if d[role.capitalize()] == arn]

    def rename(self, database_id: str, new_id: str) -> None:
        """ModifyDBCluster NewDBClusterIdentifier / ModifyDBInstance NewDBInstanceIdentifier: the resource id stays."""
        store, key, arn_key = (
            (self.clusters, "DBClusterIdentifier", "DBClusterArn")
            if database_id in self.clusters
            else (self.instances, "DBInstanceIdentifier", "DBInstanceArn")
        )
        database = store.pop(database_id)
        database[key] = new_id
        database[arn_key] = database[arn_key].rsplit(":", 1)[0] + f":{new_id}"
        store[new_id] = database

    def describe_parameter_group(self, group_name: str, kind: DatabaseKind = AURORA) -> dict[str, Any] | None:
        cluster_scope = _scope(kind) == "cluster"
        self._call("DescribeDBClusterParameterGroups" if cluster_scope else "DescribeDBParameterGroups")
        store = self._store(kind)
        if is_default_parameter_group(group_name):  # RDS has a default group for every family
            family = group_name.removeprefix("default.")
            store.setdefault(group_name, {"family": family, "description": "default", "parameters": {}})
        group = store.get(group_name)
        if group is None:
            return None
        name_key = "DBClusterParameterGroupName" if cluster_scope else "DBParameterGroupName"
        return {name_key: group_name, "DBParameterGroupFamily": group["family"], "Description": group["description"]}

    def _new_group_store(self, verb: str, group_name: str, kind: DatabaseKind) -> dict[str, dict[str, Any]]:
        """Create or Copy: the call recorded, a name already taken refused as RDS refuses it; the kind's store."""
        operation = f"{verb}DBClusterParameterGroup" if _scope(kind) == "cluster" else f"{verb}DBParameterGroup"
        self._call(operation, group_name, mutates=True)
        store = self._store(kind)
        if group_name in store:
            raise refusal(operation, "DBParameterGroupAlreadyExists")
        return store

    def create_parameter_group(
        self, group_name: str, family: str, description: str, tags: dict[str, str], kind: DatabaseKind = AURORA
    ) -> None:
        store = self._new_group_store("Create", group_name, kind)
        store[group_name] = {"family": family, "description": description, "parameters": {}, "tags": tags}

    def copy_parameter_group(
        self, source_name: str, group_name: str, description: str, tags: dict[str, str], kind: DatabaseKind = AURORA
    ) -> None:
        store = self._new_group_store("Copy", group_name, kind)
        source = store[source_name]
        store[group_name] = {
            "family": source["family"],
            "description": description,
            "parameters": dict(source["parameters"]),
            "tags": tags,
        }

    def parameter_values(self, group_name: str, names: set[str], kind: DatabaseKind = AURORA) -> dict[str, str | None]:
        operation = "DescribeDBClusterParameters" if _scope(kind) == "cluster" else "DescribeDBParameters"
        self._call(operation)
        store = self._store(kind)
        if group_name not in store and is_default_parameter_group(group_name):
            self.describe_parameter_group(group_name, kind)
        if group_name not in store:
            raise refusal(operation, "DBParameterGroupNotFound")
        parameters = store[group_name]["parameters"]
        return {name: parameters.get(name) for name in names}

    def user_parameter_values(self, group_name: str, names: set[str]) -> dict[str, str | None]:
        self._call("DescribeDBParameters", group_name)
        self.db_parameter_reads.append(group_name)
        if is_default_parameter_group(group_name):
            return {}  # nothing in a default group is Source=user
        if group_name not in self.instance_groups:
            raise refusal("DescribeDBParameters", "DBParameterGroupNotFound")
        parameters = self.instance_groups[group_name]["parameters"]
        return {name: value for name, value in parameters.items() if name in names}

    def modify_parameters(self, group_name: str, parameters: list[dict[str, str]], kind: DatabaseKind = AURORA) -> None:
        cluster_scope = _scope(kind) == "cluster"
        operation = "ModifyDBClusterParameterGroup" if cluster_scope else "ModifyDBParameterGroup"
        self._call(operation, group_name, mutates=True)
        if is_default_parameter_group(group_name):
            raise refusal(operation, DEFAULT_GROUP_MODIFIED_CODE)
        for parameter in parameters:
            self._store(kind)[group_name]["parameters"][parameter["ParameterName"]] = parameter["ParameterValue"]
            if waits_for_reboot(parameter["ApplyMethod"], apply_type=None):  # the fake's groups keep no ApplyType
                if cluster_scope:
                    self._members_of_groups(group_name, PENDING_REBOOT)
                else:
                    self._instances_of_group(group_name, PENDING_REBOOT)

    def user_cluster_parameters(self, group_name: str, kind: DatabaseKind = AURORA) -> list[dict[str, Any]]:
        self._call("DescribeDBClusterParameters" if _scope(kind) == "cluster" else "DescribeDBParameters")
        parameters = self._store(kind)[group_name]["parameters"]
        return [{"ParameterName": k, "ParameterValue": v, "ApplyType": "static"} for k, v in parameters.items()]

    def known_parameters(self, group_name: str, names: set[str], kind: DatabaseKind = AURORA) -> set[str]:
        self._call("DescribeDBClusterParameters" if _scope(kind) == "cluster" else "DescribeDBParameters")
        return names - self.unknown_parameters.get(self._store(kind)[group_name]["family"], set())

    def attach_parameter_group(self, database_id: str, group_name: str, kind: DatabaseKind = AURORA) -> None:
        # RDS attaches a group only to a database of its family (CreateDBClusterParameterGroup, API reference).
        group = self._store(kind).get(group_name)
        if kind_of(kind).is_cluster:
            self._call("ModifyDBCluster", f"{database_id} group={group_name}", mutates=True)
            cluster = self.clusters[database_id]
            if group is not None and group["family"] != parameter_group_family(
                cluster["Engine"], cluster["EngineVersion"]
            ):
                raise refusal("ModifyDBCluster", "InvalidParameterCombination")
            cluster["DBClusterParameterGroup"] = group_name
            self._members_of_groups(group_name, PENDING_REBOOT)
            return
        self._call("ModifyDBInstance", f"{database_id} group={group_name}", mutates=True)
        instance = self.instances[database_id]
        if group is not None and group["family"] != parameter_group_family(
            instance["Engine"], instance["EngineVersion"]
        ):
            raise refusal("ModifyDBInstance", "InvalidParameterCombination")
        # A DB instance takes a new DB parameter group at its next reboot (ParameterApplyStatus pending-reboot).
        instance["DBParameterGroups"] = [{"DBParameterGroupName": group_name, "ParameterApplyStatus": PENDING_REBOOT}]

    def _exports(self, database_id: str, kind: DatabaseKind, change: dict[str, list[str]], target: str) -> None:
        operation = "ModifyDBCluster" if kind_of(kind).is_cluster else "ModifyDBInstance"
        self._call(operation, f"{database_id} {target}", mutates=True)
        database = (self.clusters if kind_of(kind).is_cluster else self.instances)[database_id]
        database["EnabledCloudwatchLogsExports"] = exports_after(database["EnabledCloudwatchLogsExports"], change)

    def enable_log_export(self, database_id: str, log_type: str, kind: DatabaseKind = AURORA) -> None:
        self._exports(database_id, kind, {"EnableLogTypes": [log_type]}, f"enable={log_type}")

    def disable_log_export(self, database_id: str, log_type: str, kind: DatabaseKind = AURORA) -> None:
        self._exports(database_id, kind, {"DisableLogTypes": [log_type]}, f"disable={log_type}")

    def delete_parameter_group(self, group_name: str, kind: DatabaseKind = AURORA) -> bool:
        if _scope(kind) == "cluster":
            in_use = any(cluster["DBClusterParameterGroup"] == group_name for cluster in self.clusters.values())
            operation = "DeleteDBClusterParameterGroup"
        else:
            in_use = any(
                g["DBParameterGroupName"] == group_name for i in self.instances.values() for g in i["DBParameterGroups"]
            )
            operation = "DeleteDBParameterGroup"
        if in_use:
            return False  # RDS: InvalidDBParameterGroupState
        self._call(operation, group_name, mutates=True)
        self._store(kind).pop(group_name, None)
        return True

    def reboot_instance(self, instance_id: str) -> None:
        """A reboot brings the instance in sync (unless a test put it in `stuck`); on Aurora PostgreSQL 11 and 12.13,
        13.9, 14.6 or lower, a writer's reboot reboots every reader too (Aurora User Guide)."""
        self._call("RebootDBInstance", instance_id, mutates=True)
        instance = self.instances[instance_id]
        if "DBClusterIdentifier" not in instance:  # a standalone instance: its DB parameter group applies
            self.reboots.append(instance_id)
            if instance_id not in self.stuck:
                for attached in instance["DBParameterGroups"]:
                    attached["ParameterApplyStatus"] = IN_SYNC
            return
        for cluster in self.clusters.values():
            members = cluster["DBClusterMembers"]
            rebooting = [m for m in members if m["DBInstanceIdentifier"] == instance_id]
            if rebooting and rebooting[0]["IsClusterWriter"] and writer_reboots_readers(cluster["EngineVersion"]):
                rebooting = members
            for member in rebooting:
                self.reboots.append(member["DBInstanceIdentifier"])
                if member["DBInstanceIdentifier"] not in self.stuck:
                    member["DBClusterParameterGroupStatus"] = IN_SYNC

    def reboot_cluster(self, cluster_id: str) -> None:
        """RebootDBCluster: only for a Multi-AZ DB cluster (RDS API reference); every member comes back in sync."""
        self._call("RebootDBCluster", cluster_id, mutates=True)
        cluster = self.clusters[cluster_id]
        if cluster["Engine"] != "postgres":
            raise refusal("RebootDBCluster", "InvalidDBClusterStateFault")
        self.cluster_reboots.append(cluster_id)
        for member in cluster["DBClusterMembers"]:
            self.reboots.append(member["DBInstanceIdentifier"])
            if member["DBInstanceIdentifier"] not in self.stuck:
                member["DBClusterParameterGroupStatus"] = IN_SYNC


# ------------------------------------------------------------------------------------------------ CloudWatch Logs
class FakeLogs(Recording, SourceLogs):
    """The source account's log groups and their subscription filters (two per group, as AWS allows today)."""

    def __init__(self, filter_slots: int = SUBSCRIPTION_FILTERS_PER_LOG_GROUP) -> None:
        Recording.__init__(self)
        self.groups: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.filters: dict[str, list[dict[str, Any]]] = {}
        self.filter_slots = filter_slots

    def add_group(self, name: str, retention: int | None = None, *, consent: bool = True) -> None:
        """A log group; with `consent` its owner tagged it pgaudit-archiver=enabled (consent.py)."""
        self.groups[name] = {"logGroupName": name, **({"retentionInDays": retention} if retention else {})}
        self.tags[name] = {CONSENT_TAG_KEY: CONSENT_TAG_VALUE} if consent else {}
        self.filters.setdefault(name, [])

    def describe_log_group(self, name: str) -> dict[str, Any] | None:
        self._call("DescribeLogGroups")
        group = self.groups.get(name)
        return dict(group) if group else None

    def log_group_tags(self, arn: str) -> dict[str, str] | None:
        self._call("ListTagsForResource")
        name = arn.split(":log-group:", 1)[1]
        return dict(self.tags[name]) if name in self.groups else None

    def put_retention(self, name: str, days: int) -> None:
        self._call("PutRetentionPolicy", f"{name} {days}", mutates=True)
        self.groups[name]["retentionInDays"] = days

    def subscription_filters(self, log_group: str) -> list[dict[str, Any]]:
        self._call("DescribeSubscriptionFilters")
        return [dict(found) for found in self.filters.get(log_group, [])]

    def delete_subscription_filter(self, log_group: str, name: str) -> None:
        self._call("DeleteSubscriptionFilter", f"{log_group}:{name}", mutates=True)
        self.filters[log_group] = [f for f in self.filters[log_group] if f["filterName"] != name]

    def put_subscription_filter(self, log_group: str, name: str, pattern: str, destination_arn: str) -> bool:
        self._call("PutSubscriptionFilter", f"{log_group}:{name}", mutates=True)
        if log_group not in self.groups:
            raise refusal("PutSubscriptionFilter", "ResourceNotFoundException")
        filters = self.filters[log_group]
        existing = next((f for f in filters if f["filterName"] == name), None)
        if existing is None and len(filters) >= self.filter_slots:
            return False
        if existing is None:
            existing = {"filterName": name, "logGroupName": log_group}
            filters.append(existing)
        existing.update(filterPattern=pattern, destinationArn=destination_arn)
        return True


class FakeArchiveLogs(Recording, ArchiveLogs):
    """The archive account's CloudWatch Logs destinations."""

    def __init__(self) -> None:
        Recording.__init__(self)
        self.destinations: dict[str, dict[str, Any]] = {}

    def describe_destination(self, name: str) -> dict[str, Any] | None:
        self._call("DescribeDestinations")
        destination = self.destinations.get(name)
        return dict(destination) if destination else None

    def destinations_with_prefix(self, prefix: str) -> list[dict[str, Any]]:
        self._call("DescribeDestinations")
        return [dict(d) for name, d in sorted(self.destinations.items()) if name.startswith(prefix)]

    def put_destination(self, name: str, target_arn: str, role_arn: str, tags: dict[str, str] | None) -> dict[str, Any]:
        self._call("PutDestination", name, mutates=True)
        destination = self.destinations.setdefault(
            name,
            {
                "destinationName": name,
                "arn": f"arn:aws:logs:{REGION}:{ARCHIVE_ACCOUNT}:destination:{name}",
                "tags": tags,
            },
        )
        destination.update(targetArn=target_arn, roleArn=role_arn)
        destination.pop("accessPolicy", None)  # PutDestination on an existing destination keeps it; be strict
        return dict(destination)

    def delete_destination(self, name: str) -> None:
        self._call("DeleteDestination", name, mutates=True)
        del self.destinations[name]

    def put_destination_policy(self, name: str, policy: dict[str, Any]) -> None:
        self._call("PutDestinationPolicy", name, mutates=True)
        self.destinations[name]["accessPolicy"] = json.dumps(policy)


# ------------------------------------------------------------------------------------------------------- Firehose
class FakeFirehose(Recording, ArchiveFirehose):
    """Delivery streams; a new stream is CREATING for `creating_polls` describes, then ACTIVE."""

    def __init__(self, creating_polls: int = 1) -> None:
        Recording.__init__(self)
        self.streams: dict[str, dict[str, Any]] = {}
        self.creating_polls = creating_polls
        self._until_active: dict[str, int] = {}

    def count_streams(self) -> int:
        self._call("ListDeliveryStreams")
        return len(self.streams)

    def describe_stream(self, name: str) -> dict[str, Any] | None:
        self._call("DescribeDeliveryStream")
        stream = self.streams.get(name)
        if stream is None:
            return None
        if stream["DeliveryStreamStatus"] == "CREATING":
            self._until_active[name] -= 1
            if self._until_active[name] < 0:
                stream["DeliveryStreamStatus"] = "ACTIVE"
        return copy.deepcopy(stream)

    def create_stream(self, name: str, destination: dict[str, Any], tags: dict[str, str]) -> str:
        self._call("CreateDeliveryStream", name, mutates=True)
        arn = f"arn:aws:firehose:{REGION}:{ARCHIVE_ACCOUNT}:deliverystream/{name}"
        self.streams[name] = {
            "DeliveryStreamName": name,
            "DeliveryStreamARN": arn,
            "DeliveryStreamStatus": "CREATING",
            "VersionId": "1",
            "Destinations": [
                {
                    "DestinationId": "destinationId-000000000001",
                    "ExtendedS3DestinationDescription": copy.deepcopy(destination),
                }
            ],
            "Tags": tags,
        }
        self._until_active[name] = self.creating_polls
        return arn

    def delete_stream(self, name: str) -> bool:
        self._call("DeleteDeliveryStream", name, mutates=True)
        return self.streams.pop(name, None) is not None

    def update_destination(self, name: str, version_id: str, destination_id: str, update: dict[str, Any]) -> None:
        self._call("UpdateDestination", name, mutates=True)
        stream = self.streams[name]
        if version_id != stream["VersionId"]:
            raise refusal("UpdateDestination", "ConcurrentModificationException")
        stream["Destinations"][0]["ExtendedS3DestinationDescription"].update(copy.deepcopy(update))
        stream["VersionId"] = str(int(version_id) + 1)


# ------------------------------------------------------------------------------------------------------------ IAM
class FakeIam(Recording, ArchiveIam):
    def __init__(self, roles_quota: int = 1000) -> None:
        Recording.__init__(self)
        self.roles: dict[str, dict[str, Any]] = {}
        self.roles_quota = roles_quota

    def role_usage(self) -> tuple[int, int]:
        self._call("GetAccountSummary")
        return len(self.roles), self.roles_quota

    def get_role(self, name: str) -> dict[str, Any] | None:
        self._call("GetRole")
        role = self.roles.get(name)
        if role is None:
            return None
        return {
            "RoleName": name,
            "Path": role["Arn"].split(":role", 1)[1].rsplit("/", 1)[0] + "/",
            "Arn": role["Arn"],
            "AssumeRolePolicyDocument": copy.deepcopy(role["trust"]),
            "Tags": [{"Key": key, "Value": value} for key, value in role["tags"].items()],
        }

    def create_role(
        self, name: str, path: str, trust: dict[str, Any], boundary_arn: str, description: str, tags: dict[str, str]
    ) -> str:
        self._call("CreateRole", name, mutates=True)
        if name in self.roles:
            raise refusal("CreateRole", "EntityAlreadyExists")
        arn = f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role{path}{name}"
        self.roles[name] = {
            "Arn": arn,
            "trust": copy.deepcopy(trust),
            "boundary": boundary_arn,
            "policies": {},
            "tags": tags,
        }
        return arn

    def update_trust(self, name: str, trust: dict[str, Any]) -> None:
        self._call("UpdateAssumeRolePolicy", name, mutates=True)
        self.roles[name]["trust"] = copy.deepcopy(trust)

    def get_inline_policy(self, role_name: str, policy_name: str) -> dict[str, Any] | None:
        self._call("GetRolePolicy")
        role = self.roles.get(role_name)
        policy = role["policies"].get(policy_name) if role else None
        return copy.deepcopy(policy) if policy else None

    def delete_role(self, name: str) -> bool:
        if name not in self.roles:
            return False  # IAM: NoSuchEntity
        self._call("DeleteRole", name, mutates=True)
        del self.roles[name]
        return True

    def put_inline_policy(self, role_name: str, policy_name: str, document: dict[str, Any]) -> None:
        self._call("PutRolePolicy", f"{role_name}/{policy_name}", mutates=True)
        self.roles[role_name]["policies"][policy_name] = copy.deepcopy(document)


# ----------------------------------------------------------------------------------------------- RDS Data API
class FakeRoleHolders(RoleHolders):
    """The holders of each account's shared destination role, with the conditions of aws/role_holders.py."""

    def __init__(self, clock: Callable[[], float] = lambda: 1_700_000_000.0) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self._clock = clock

    def join(self, account_id: str, region: str, source_id: str) -> bool:
        item = self.items.setdefault(holders_key(account_id, region), {})
        if item.get("retiring_until", 0) >= int(self._clock()):
            return False
        item.setdefault("holders", set()).add(source_id)
        return True

    def leave(self, account_id: str, region: str, source_id: str) -> bool:
        item = self.items.setdefault(holders_key(account_id, region), {})
        item.get("holders", set()).discard(source_id)
        if item.get("holders"):
            return False
        item.pop("holders", None)  # DynamoDB removes a set whose last member goes
        if item.get("retiring_until", 0) >= int(self._clock()) and item.get("retiring_by") != source_id:
            return False
        item.update(retiring_by=source_id, retiring_until=int(self._clock()) + RETIREMENT_LEASE_SECONDS)
        return True

    def retired(self, account_id: str, region: str, source_id: str) -> None:
        key = holders_key(account_id, region)
        item = self.items.get(key, {})
        if item.get("retiring_by") == source_id and not item.get("holders"):
            del self.items[key]


class FakeRdsData(Recording, SourceRdsData):
    """Statements run through the Data API; knows only whether the pgaudit extension exists."""

    def __init__(self, extension_present: bool = False, may_revoke: bool = True) -> None:
        Recording.__init__(self)
        self.extension_present = extension_present
        self.statements: list[tuple[str, str]] = []  # (database, sql)
        self.secrets_used: list[str] = []  # the secret of every statement
        self.databases = ["appdb", "postgres", "template1"]
        self.public_uses_plpgsql = set(self.databases)  # PostgreSQL's default
        self.may_revoke = may_revoke  # False: the caller does not own the language (REVOKE only warns)
        self.unreachable: set[str] = set()  # databases the master user may not connect to

    def execute(self, cluster_arn: str, secret_arn: str, database: str, sql: str) -> list[Any]:
        self._call("ExecuteStatement")
        self.statements.append((database, sql))
        self.secrets_used.append(secret_arn)
        if database in self.unreachable:
            raise AwsRequestError(
                f"ExecuteStatement was refused: permission denied for database {database}",
                aws_error_code="BadRequestException",
            )
        if sql.startswith("CREATE EXTENSION"):
            self.mutations.append(f"ExecuteStatement {sql}")
            self.extension_present = True
            return []
        if sql.startswith("REVOKE"):
            self.mutations.append(f"ExecuteStatement {sql} in {database}")
            if self.may_revoke:
                self.public_uses_plpgsql.discard(database)
            return []
        if "pg_extension" in sql:
            return [[{"longValue": 1}]] if self.extension_present else []
        if "FROM pg_database" in sql:
            return [[{"stringValue": name}] for name in self.databases]
        if "pg_language" in sql:
            return [[{"longValue": 1}]] if database in self.public_uses_plpgsql else []
        return [[{"stringValue": sql}]]


# ------------------------------------------------------------------------------------------------ Secrets Manager
class FakeSecrets(Recording, SourceSecrets):
    """The source account's secrets: names and tags only (the Data API reads values, not the product)."""

    def __init__(self) -> None:
        Recording.__init__(self)
        self.entries: list[SecretEntry] = []
        self.listed: list[tuple[str, str]] = []  # (tag key, tag value) of every ListSecrets

    def add(self, name: str, tags: dict[str, str], owning_service: str | None = None) -> str:
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"
        self.entries.append(SecretEntry(arn=arn, name=name, tags=tags, owning_service=owning_service))
        return arn

    def add_database_user(self, cluster_id: str = "orders", name: str | None = None) -> str:
        """The owner's secret as the README says: tagged for pgaudit-archiver and for the cluster."""
        tags = {"pgaudit-archiver:database-user": "true", "pgaudit-archiver:cluster": cluster_id}
        return self.add(name or f"pgaudit-archiver/{cluster_id}", tags)

    def tagged(self, key: str, value: str) -> list[SecretEntry]:
        self._call("ListSecrets")
        self.listed.append((key, value))
        return [entry for entry in self.entries if entry.tags.get(key) == value]


def owner_secrets(cluster_id: str = "orders") -> FakeSecrets:
    secrets = FakeSecrets()
    secrets.add_database_user(cluster_id)
    return secrets


# ------------------------------------------------------------------------------------------------------- registry
class FakeRegistry(Recording, Registry):
    """The registry table: one item per source, with the running-claim condition of the real one."""

    def __init__(self) -> None:
        Recording.__init__(self)
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, source: Source) -> dict[str, Any] | None:
        self._call("GetItem")
        item = self.items.get(source_key(source))
        return copy.deepcopy(item) if item else None

    def _item(self, source: Source) -> dict[str, Any]:
        item = self.items.setdefault(source_key(source), {"source_id": source_key(source), "created_at": now()})
        item.update(
            account_id=source.account_id,
            region=source.region,
            cluster_id=source.cluster_id,
            kind=str(source.kind),
            updated_at=now(),
        )
        return item

    def claim(
        self,
        source: Source,
        operation: str,
        request: dict[str, Any],
        stale_execution: str | None = None,
        *,
        execution_arn: str | None = None,
        console_url: str | None = None,
        claimed_by: str | None = None,
    ) -> bool:
        self._call("UpdateItem", f"claim {source.cluster_id}", mutates=True)
        current = self.items.get(source_key(source))
        running = current is not None and current.get("status") in RUNNING_STATUSES
        if running and not (stale_execution and current and current.get("execution_arn") == stale_execution):
            return False
        item = self._item(source)
        for field in ("execution_arn", "console_url", "last_error", "claimed_by"):
            item.pop(field, None)
        item.update(
            status=SourceStatus.ONBOARDING if operation == "onboard" else SourceStatus.OFFBOARDING,
            request=copy.deepcopy(request),
        )
        if execution_arn:
            item.update(execution_arn=execution_arn, console_url=console_url or "")
        if claimed_by:
            item["claimed_by"] = claimed_by
        return True

    def release_claim(self, source: Source, execution_arn: str, last_error: dict[str, Any]) -> bool:
        self._call("UpdateItem", f"release_claim {source.cluster_id}", mutates=True)
        current = self.items.get(source_key(source))
        if not current or current.get("status") not in RUNNING_STATUSES:
            return False
        if current.get("execution_arn") != execution_arn:
            return False
        self._item(source).update(status=SourceStatus.FAILED, last_error=copy.deepcopy(last_error))
        return True

    def record_execution(
        self, source: Source, operation: str, execution_arn: str, console_url: str, request: dict[str, Any]
    ) -> None:
        self._call("UpdateItem", f"record_execution {source.cluster_id}", mutates=True)
        item = self._item(source)
        item.pop("last_error", None)
        item.setdefault("request", copy.deepcopy(request))
        item.update(
            status=SourceStatus.ONBOARDING if operation == "onboard" else SourceStatus.OFFBOARDING,
            execution_arn=execution_arn,
            console_url=console_url,
        )

    def release(self, source: Source) -> None:
        self._call("UpdateItem", f"release {source.cluster_id}", mutates=True)
        self._item(source)["status"] = SourceStatus.FAILED

    def finish(
        self,
        source: Source,
        status: str,
        fields: dict[str, Any],
        keep_first: dict[str, Any] | None = None,
        *,
        if_status: str | None = None,
    ) -> bool:
        self._call("UpdateItem", f"finish {source.cluster_id} {status}", mutates=True)
        item = self._item(source)
        if if_status is not None and item.get("status") != if_status:
            return False
        item["status"] = status
        item.update(copy.deepcopy(fields))
        for name, value in (keep_first or {}).items():
            item.setdefault(name, copy.deepcopy(value))
        return True

    def set_fields(self, source: Source, fields: dict[str, Any]) -> None:
        self._call("UpdateItem", f"set {', '.join(fields)} of {source.cluster_id}", mutates=True)
        self._item(source).update(copy.deepcopy(fields))

    def canary_arrived(self, source: Source, canary_id: str, arrived: datetime) -> float | None:
        return Registry.canary_arrived(self, source, canary_id, arrived)  # the real logic, over get and set_fields

    def list(
        self, account_id: str | None, status: str | None, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self._call("Scan")
        matching = [
            copy.deepcopy(item)
            for item in self.items.values()
            if (account_id is None or item.get("account_id") == account_id)
            and (status is None or item.get("status") == status)
        ]
        start = int(base64.b64decode(token)) if token else 0
        page = matching[start : start + limit]
        more = start + limit < len(matching)
        return page, base64.b64encode(str(start + limit).encode()).decode() if more else None

    def scan_segment(
        self, statuses: tuple[str, ...], segment: int, segments: int, limit: int, start_key: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """As DynamoDB: `limit` items read per page (then filtered), in key order within a segment."""
        self._call("Scan")
        keys = sorted(k for k in self.items if zlib.crc32(k.encode()) % segments == segment)
        start = keys.index(start_key) + 1 if start_key else 0
        read = keys[start : start + limit]
        page = [copy.deepcopy(self.items[k]) for k in read if self.items[k].get("status") in statuses]
        return page, (read[-1] if start + limit < len(keys) else None)

    def count_by_status(self) -> dict[str, int]:
        self._call("Scan")
        counts: dict[str, int] = {}
        for item in self.items.values():
            counts[item.get("status", "unknown")] = counts.get(item.get("status", "unknown"), 0) + 1
        return counts


# ------------------------------------------------------------------------------------------------ Step Functions
class FakeStepFunctions(Recording, ArchiveStepFunctions):
    def __init__(self) -> None:
        Recording.__init__(self)
        self.executions: dict[str, dict[str, Any]] = {}

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        self._call("StartExecution", name, mutates=True)
        machine = state_machine_arn.rsplit(":", 1)[-1]
        arn = f"arn:aws:states:{REGION}:{ARCHIVE_ACCOUNT}:execution:{machine}:{name}"
        self.executions[arn] = {"status": "RUNNING", "input": copy.deepcopy(payload)}
        return arn

    def running_names(self, state_machine_arn: str) -> list[str]:
        self._call("ListExecutions")
        machine = state_machine_arn.rsplit(":", 1)[-1]
        return [arn.rsplit(":", 1)[-1] for arn, execution in self.executions.items()
                if f":{machine}:" in arn and execution["status"] == "RUNNING"]  # fmt: skip

    def status(self, execution_arn: str) -> str | None:
        self._call("DescribeExecution")
        execution = self.executions.get(execution_arn)  # None: ExecutionDoesNotExist, as the real one answers
        return str(execution["status"]) if execution else None

    def last_entered_state_before(self, execution_arn: str, current_state: str) -> str | None:
        self._call("GetExecutionHistory")
        return None


# ------------------------------------------------------------------------------------------------------- settings
STACK_ENVIRONMENT = {
    "AWS_REGION": REGION,
    "ARCHIVE_ACCOUNT_ID": ARCHIVE_ACCOUNT,
    "EXTERNAL_ID": "an-external-id-1234",
    "SOURCE_ROLE_NAME": "pgaudit-archiver-source",
    "REGISTRY_TABLE": "pgaudit-archiver-registry",
    "ARCHIVE_BUCKET": "pgaudit-archive",
    "FIREHOSE_ROLE_ARN": f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/pgaudit-archiver-firehose",
    "TRANSFORM_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:{ARCHIVE_ACCOUNT}:function:pgaudit-archiver-transform",
    "DESTINATION_ROLE_BOUNDARY_ARN": f"arn:aws:iam::{ARCHIVE_ACCOUNT}:policy/pgaudit-archiver-boundary",
    "ONBOARD_STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ARCHIVE_ACCOUNT}:stateMachine:onboard",
    "OFFBOARD_STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ARCHIVE_ACCOUNT}:stateMachine:offboard",
    "MAX_POLLS": "3",
    "RECONCILE_SEGMENTS": "8",
    "ADOPTION_CONCURRENCY": "10",
    "ALLOWED_ACCOUNT_IDS": "",
    "POLL_INTERVAL_SECONDS": "0",
}


def stack_settings(**overrides: str) -> Settings:
    """The whole stack's settings, as `load_settings` reads them from a deployed function's environment."""
    return load_settings({**STACK_ENVIRONMENT, **overrides})


SOURCE = Source(account_id=ACCOUNT, region=REGION, cluster_id="orders")


def resolved(cluster_id: str = "orders", **options: Any) -> ResolvedRequest:
    """An onboarding request as Validate Request hands it on, the deployment's defaults filled in."""
    raw = {"account_id": ACCOUNT, "region": REGION, "cluster_id": cluster_id, **options}
    return parse_request(raw, stack_settings())
