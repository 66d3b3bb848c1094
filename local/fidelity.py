"""How the emulation makes moto behave like AWS: the behaviour behind the fidelity patches local/patches.py lists
(each shown in tests/integration/test_fidelity.py and probed against plain moto in test_patches.py).

- RDS: default.aurora-postgresql<major> cluster parameter groups exist, with Aurora's defaults, and cannot be
  modified; CloudwatchLogsExportConfiguration updates EnabledCloudwatchLogsExports; a static parameter change
  or a new parameter group leaves members pending-reboot until each is rebooted; on Aurora PostgreSQL 11 and
  12.13, 13.9, 14.6 or lower a writer's reboot reboots the readers too; a value set in an instance's DB
  parameter group (Source=user, which DescribeDBParameters filters on) takes precedence over the cluster group's
  when the real PostgreSQL behind the cluster (the writer) restarts or reloads; default DB parameter groups cannot
  be modified; the Data API can be enabled on provisioned Aurora PostgreSQL, reads the secret it is given (as
  the caller) and runs SQL as that secret's user on the cluster's real PostgreSQL when it has one; a statement
  PostgreSQL refuses is the Data API's DatabaseErrorException.
- RDS for PostgreSQL DB instances and Multi-AZ DB clusters: default.postgres<major> groups with the engine's
  defaults; a DbiResourceId per DB instance; a parameter group of another family refused on every attach
  (ModifyDBInstance, ModifyDBCluster, a blue/green green); a new DB parameter group or a static change pending-reboot
  until RebootDBInstance; RebootDBCluster; a Multi-AZ DB cluster's three DB instances, deleted with it; major
  upgrades needing AllowMajorVersionUpgrade and a group of the new family.
- Life events: a renamed cluster keeps its DB instances; a restored DB instance or cluster is a new resource with
  the request's exports and group; a blue/green switchover renames a cluster's DB instances with it; a global
  cluster can be made from a cluster outside us-east-1. The real PostgreSQL behind each (local/clusters.py) follows
  its resource id: a restore, a green or a global secondary starts as a copy of its source's server.
- CloudWatch Logs: a subscription filter to a cross-account destination is refused unless the destination's
  access policy allows the caller's account and the destination is in the log group's region; matching
  events then reach the destination's Firehose stream as gzip envelopes, with AWS's 56-digit string ids;
  replacing a destination policy that grants accounts with one that grants an organization needs forceUpdate.
- Firehose: 5,000 streams per region, AWS's default quota (moto stops at 50); the Lambda processor runs
  (in-process, with the Firehose event contract), dynamic-partitioning and timestamp prefix expressions and the
  error prefix are honoured, GZIP and FileExtension are applied.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.firehose.models import FirehoseBackend, firehose_backends
from moto.iam.models import iam_backends
from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
from moto.logs.models import LogGroup, LogsBackend, LogStream, logs_backends
from moto.logs.responses import LogsResponse
from moto.rds.exceptions import RDSClientError
from moto.rds.models import (
    BlueGreenDeployment,
    DBCluster,
    DBClusterParameterGroup,
    DBInstance,
    DBParameterGroup,
    RDSBackend,
    rds_backends,
)
from moto.rds.responses import RDSResponse
from moto.rdsdata.models import QueryResults
from moto.rdsdata.responses import RDSDataServiceResponse
from moto.s3.models import s3_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.stepfunctions.responses import StepFunctionResponse
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend

from local.aws_rules import (
    DEFAULT_GROUP_MODIFIED_CODE,
    FAMILY_MISMATCH_CODE,
    IN_SYNC,
    OLD_BLUE_SUFFIX,
    PENDING_REBOOT,
    default_group_refusal,
    exports_after,
    family_refusal,
    is_default_parameter_group,
    parameter_group_family,
    restored_exports,
    waits_for_reboot,
    writer_reboots_readers,
)
from local.patches import fidelity_patches

if TYPE_CHECKING:
    from local.lambdas import InProcessLambdas

AURORA_POSTGRESQL = "aurora-postgresql"
POSTGRES = "postgres"  # RDS for PostgreSQL: DB instances and Multi-AZ DB clusters
DEFAULT_POSTGRES_VERSION = "16.3"
# A Multi-AZ DB cluster has one writer and two readable standbys (RDS User Guide, "Multi-AZ DB cluster deployments").
MULTI_AZ_CLUSTER_INSTANCES = 3
_RESOURCE_ID_ALPHABET = string.ascii_uppercase + string.digits
# What Aurora PostgreSQL's default cluster parameter groups hold for the parameters pgaudit-archiver reads,
# plus a few others so that a copy carries more than the two we touch.
AURORA_DEFAULT_PARAMETERS: dict[str, dict[str, str]] = {
    "shared_preload_libraries": {"ParameterValue": "pg_stat_statements", "ApplyType": "static"},
    "pgaudit.log": {"ApplyType": "dynamic"},
    "pgaudit.log_parameter": {"ApplyType": "dynamic"},
    "pgaudit.log_relation": {"ApplyType": "dynamic"},
    "pgaudit.role": {"ApplyType": "dynamic"},
    "log_min_duration_statement": {"ApplyType": "dynamic"},
    "rds.force_ssl": {"ParameterValue": "1", "ApplyType": "dynamic"},
    "track_io_timing": {"ParameterValue": "1", "ApplyType": "dynamic"},
}


def _logs_access_denied(message: str) -> Exception:
    return JsonRESTError("AccessDeniedException", message)


def filter_pattern_matches(pattern: str, message: str) -> bool:
    """CloudWatch Logs term patterns: every term must occur, or with `?term ?term` any one of them; a quoted
    term is matched exactly, case-sensitively. (JSON and space-delimited patterns are not emulated.)"""
    terms, current, quoted = [], "", False
    for char in pattern.strip():
        if char == '"':
            quoted = not quoted
            continue
        if char == " " and not quoted:
            if current:
                terms.append(current)
            current = ""
            continue
        current += char
    if current:
        terms.append(current)
    if terms and all(term.startswith("?") for term in terms):
        return any(term[1:].strip('"') in message for term in terms)
    return all(term in message for term in terms)


Database = DBCluster | DBInstance  # what a hook is about: an Aurora or Multi-AZ DB cluster, or a DB instance


def resource_id(database: Database) -> str:
    """The database's identity, kept through renames: DbClusterResourceId or DbiResourceId."""
    if isinstance(database, DBCluster):
        return str(database.db_cluster_resource_id)
    return str(database.dbi_resource_id)


class ClusterHooks:
    """What the world plugs into the RDS emulation: the real PostgreSQL behind a database (a cluster or a DB instance).
    Without one, the Data API remembers only which databases got CREATE EXTENSION, so that pg_extension answers as a
    database would."""

    def __init__(self) -> None:
        self._extensions: set[tuple[str, str, str]] = set()  # (account, cluster, database)

    def restart(self, cluster: Database, parameters: dict[str, str | None]) -> None: ...
    def apply_dynamic(self, cluster: Database, parameters: dict[str, str | None]) -> None: ...
    def exports_changed(self, cluster: Database, log_types: list[str]) -> None: ...
    def deleted(self, database: Database) -> None: ...
    def copied(self, source: Database, copy: Database, parameters: dict[str, str | None]) -> None:
        """`copy` was made from `source` (a restore, a blue/green deployment's green): it starts with its data."""

    def execute(self, cluster: DBCluster, database: str, sql: str, user: str) -> QueryResults | None:
        key = (cluster.account_id, cluster.db_cluster_identifier, database)
        if re.match(r"\s*CREATE\s+EXTENSION\b", sql, re.IGNORECASE):
            self._extensions.add(key)
        elif "FROM pg_extension" in sql:
            rows = [[{"longValue": 1}]] if key in self._extensions else []
            return QueryResults(records=rows, number_of_records_updated=0)
        return None


class Fidelity:
    def __init__(self, lambdas: InProcessLambdas, hooks: ClusterHooks | None = None) -> None:
        self.lambdas = lambdas
        self.hooks = hooks or ClusterHooks()
        self._lock = threading.RLock()
        self._patches: list[Any] = []
        # IAM (local/iam.py): (destination, log group ARN, region) -> why CloudWatch Logs may not deliver, or None.
        self.delivery_refusal: Callable[[Any, str, str], str | None] | None = None
        # (stream's RoleARN, stream ARN, action, resource) -> why Firehose may not do it with that role, or None.
        self.firehose_refusal: Callable[[str, str, str, str], str | None] | None = None
        self.refused_deliveries: list[str] = []
        # (account, secret ARN) of every secret the Data API read on a caller's behalf (CloudTrail's GetSecretValue).
        self.secret_reads: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        for patch in fidelity_patches(self):  # local/patches.py: each names what it corrects
            patcher = patch.patcher()
            patcher.start()
            self._patches.append(patcher)

    def stop(self) -> None:
        while self._patches:
            self._patches.pop().stop()

    # ------------------------------------------------------------------ RDS
    @staticmethod
    def default_group_name(engine_version: str, engine: str = AURORA_POSTGRESQL) -> str:
        return f"default.{parameter_group_family(engine, engine_version)}"

    @staticmethod
    def seed_engine_defaults(group: DBClusterParameterGroup | DBParameterGroup) -> None:
        """A new group of a PostgreSQL family starts with the engine's defaults, as on AWS."""
        for parameter, values in AURORA_DEFAULT_PARAMETERS.items():
            group.parameters[parameter] = {
                "ParameterName": parameter,
                **values,
                "Source": "engine-default",
                "IsModifiable": True,
                "ApplyMethod": "pending-reboot" if values["ApplyType"] == "static" else "immediate",
            }

    @staticmethod
    def ensure_default_group(backend: RDSBackend, engine_version: str, engine: str = AURORA_POSTGRESQL) -> str:
        """default.<family>, the DB cluster parameter group of an Aurora PostgreSQL or Multi-AZ DB cluster."""
        name = Fidelity.default_group_name(engine_version, engine)
        if name not in backend.db_cluster_parameter_groups:
            family = name.removeprefix("default.")
            group = DBClusterParameterGroup(backend, name, f"Default cluster parameter group for {family}", family)
            Fidelity.seed_engine_defaults(group)
            backend.db_cluster_parameter_groups[name] = group
        return name

    @staticmethod
    def ensure_default_db_parameter_group(backend: RDSBackend, engine_version: str, engine: str = POSTGRES) -> str:
        """default.postgres<major>, the DB parameter group of an RDS for PostgreSQL DB instance."""
        name = Fidelity.default_group_name(engine_version, engine)
        if name not in backend.db_parameter_groups:
            family = name.removeprefix("default.")
            group = DBParameterGroup(backend, name, f"Default parameter group for {family}", family)
            Fidelity.seed_engine_defaults(group)
            backend.db_parameter_groups[name] = group
        return name

    @staticmethod
    def instance_group(instance: DBInstance) -> DBParameterGroup:
        return instance.db_parameter_groups()[0]

    @staticmethod
    def instance_parameters(instance: DBInstance) -> dict[str, str | None]:
        """What a DB instance runs with: its DB parameter group's values."""
        group = Fidelity.instance_group(instance)
        return {name: values.get("ParameterValue") for name, values in group.parameters.items()}

    @staticmethod
    def is_standalone(instance: DBInstance) -> bool:
        return not getattr(instance, "db_cluster_identifier", None)

    def _create_parameter_group(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def create(
            backend: RDSBackend,
            db_cluster_parameter_group_name: str,
            db_parameter_group_family: str,
            description: str,
            tags: Any,
        ) -> Any:
            group = original(backend, db_cluster_parameter_group_name, db_parameter_group_family, description, tags)
            if db_parameter_group_family.startswith((AURORA_POSTGRESQL, POSTGRES)):
                self.seed_engine_defaults(group)
            return group

        return create

    def _create_db_parameter_group(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """A new DB parameter group of an RDS for PostgreSQL family starts with the engine's defaults."""

        def create(backend: RDSBackend, db_parameter_group_kwargs: dict[str, Any]) -> Any:
            group = original(backend, db_parameter_group_kwargs)
            if str(group.family or "").startswith(POSTGRES):
                self.seed_engine_defaults(group)
            return group

        return create

    @staticmethod
    def _describe_db_parameter_groups(original: Callable[..., Any]) -> Callable[..., Any]:
        """DescribeDBParameterGroups naming a group that does not exist fails with DBParameterGroupNotFound
        ("DBParameterGroupName doesn't refer to an existing DB parameter group", RDS API reference)."""

        def describe(backend: RDSBackend, db_parameter_group_kwargs: dict[str, Any]) -> Any:
            name = db_parameter_group_kwargs.get("db_parameter_group_name")
            if name and name not in backend.db_parameter_groups:
                raise RDSClientError("DBParameterGroupNotFound", f"DBParameterGroup not found: {name}")
            return original(backend, db_parameter_group_kwargs)

        return describe

    @staticmethod
    def parameter_values(backend: RDSBackend, group_name: str) -> dict[str, str | None]:
        group = backend.db_cluster_parameter_groups.get(group_name)
        if group is None:
            return {}
        return {name: values.get("ParameterValue") for name, values in group.parameters.items()}

    @staticmethod
    def instance_overrides(backend: RDSBackend, instance: DBInstance) -> dict[str, str | None]:
        """What an instance's DB parameter group sets itself (Source=user), which takes precedence over the cluster
        group (Aurora User Guide, "Working with DB cluster parameter groups")."""
        group = backend.db_parameter_groups.get(getattr(instance, "db_parameter_group_name", None) or "")
        if group is None:
            return {}
        return {name: values.get("ParameterValue") for name, values in group.parameters.items()
                if values.get("Source") == "user"}  # fmt: skip

    @classmethod
    def effective_parameters(cls, backend: RDSBackend, cluster: DBCluster) -> dict[str, str | None]:
        """What the writer runs with: the cluster group's values, overridden by the writer's DB parameter group."""
        values = cls.parameter_values(backend, cluster.parameter_group)
        writer = next((member for member in cluster.members if member.is_cluster_writer), None)
        if writer is not None:
            values.update(cls.instance_overrides(backend, writer))
        return values

    def _modify_instance_parameters(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """A default DB parameter group cannot be modified; a value set is Source=user; a dynamic one reaches the
        writer's server at once when the writer uses the group."""

        def modify(backend: RDSBackend, db_parameter_group_name: str, db_parameter_group_parameters: Any) -> Any:
            name = db_parameter_group_name
            if is_default_parameter_group(name):
                raise RDSClientError(DEFAULT_GROUP_MODIFIED_CODE, default_group_refusal(name))
            parameters = [{**parameter, "Source": "user"} for parameter in db_parameter_group_parameters]
            result = original(backend, name, parameters)
            dynamic = {
                p["ParameterName"]: p.get("ParameterValue")
                for p in parameters
                if p.get("ApplyMethod") == "immediate"
                and AURORA_DEFAULT_PARAMETERS.get(p["ParameterName"], {}).get("ApplyType") != "static"
            }
            for cluster in list(backend.clusters.values()):
                writer = next((m for m in cluster.members if m.is_cluster_writer), None)
                if dynamic and writer is not None and getattr(writer, "db_parameter_group_name", None) == name:
                    self.hooks.apply_dynamic(cluster, dynamic)
            group = backend.db_parameter_groups.get(name)
            applies = {key: spec.get("ApplyType") for key, spec in (group.parameters if group else {}).items()}
            static = [p for p in parameters if waits_for_reboot(p.get("ApplyMethod"), applies.get(p["ParameterName"]))]
            for instance in list(backend.databases.values()):
                if not self.is_standalone(instance) or self.instance_group(instance).name != name:
                    continue
                if static:  # RDS User Guide, "Modifying parameters in a DB parameter group": pending-reboot
                    instance._pgaudit_archiver_parameter_status = PENDING_REBOOT
                if dynamic:
                    self.hooks.apply_dynamic(instance, dynamic)
            return result

        return modify

    @staticmethod
    def _describe_db_parameters(original: Callable[..., Any]) -> Callable[..., Any]:
        """moto ignores Source, Filters, MaxRecords and Marker; AWS returns only the parameters of that source (user,
        system, engine-default) and with those names (the parameter-name filter, "The only supported filter"),
        MaxRecords (20 to 100, 100 by default) at a time, with a Marker for the rest (API reference). Both calls,
        DescribeDBParameters and DescribeDBClusterParameters."""

        def describe(response: RDSResponse) -> Any:
            result = original(response)
            parameters = list(result.result["Parameters"])
            source = response._get_param("Source")
            if source:
                parameters = [p for p in parameters if p.get("Source", "engine-default") == source]
            for entry in response.params.get("Filters") or []:
                if entry["Name"] != "parameter-name":
                    raise RDSClientError("InvalidParameterValue", f"Unrecognized filter name: {entry['Name']}")
                wanted = set(entry.get("Values") or [])
                parameters = [p for p in parameters if p.get("ParameterName") in wanted]
            size = int(response._get_param("MaxRecords") or 100)
            if not 20 <= size <= 100:
                raise RDSClientError("InvalidParameterValue", "MaxRecords must be between 20 and 100.")
            start = int(response._get_param("Marker") or 0)  # opaque on AWS; an offset here
            result.result["Parameters"] = parameters[start : start + size]
            result.result.pop("Marker", None)
            if start + size < len(parameters):
                result.result["Marker"] = str(start + size)
            return result

        return describe

    def _create_db_cluster(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """Aurora PostgreSQL and Multi-AZ DB clusters get default.<family> when no group is named; a Multi-AZ DB cluster
        (engine postgres, DBClusterInstanceClass set) gets its three DB instances, which RDS creates with it (RDS User
        Guide, "Creating a Multi-AZ DB cluster": the writer and two reader instances, <cluster>-instance-<n>)."""

        def create(backend: RDSBackend, kwargs: dict[str, Any]) -> Any:
            engine = kwargs.get("engine")
            if engine in (AURORA_POSTGRESQL, POSTGRES) and not kwargs.get("db_cluster_parameter_group_name"):
                version = kwargs.get("engine_version") or ("15.4" if engine == AURORA_POSTGRESQL else
                                                           DEFAULT_POSTGRES_VERSION)  # fmt: skip
                kwargs["engine_version"] = version
                kwargs["db_cluster_parameter_group_name"] = self.ensure_default_group(backend, version, engine)
            cluster = original(backend, kwargs)
            if engine == POSTGRES and kwargs.get("db_cluster_instance_class") and not cluster.members:
                for index in range(MULTI_AZ_CLUSTER_INSTANCES):
                    backend.create_db_instance(
                        {
                            "db_instance_identifier": f"{cluster.db_cluster_identifier}-instance-{index + 1}",
                            "db_cluster_identifier": cluster.db_cluster_identifier,
                            "engine": POSTGRES,
                            "engine_version": cluster.engine_version,
                            "db_instance_class": kwargs["db_cluster_instance_class"],
                            "promotion_tier": index + 1,
                            "availability_zone": f"{backend.region_name}{'abc'[index]}",  # three AZs
                        }
                    )
            return cluster

        return create

    def _create_db_instance(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """Every DB instance gets its own DbiResourceId (moto gives all the same one); an RDS for PostgreSQL DB instance
        created without a group has default.postgres<major> with the engine's defaults."""

        def create(backend: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
            standalone = not db_kwargs.get("db_cluster_identifier")
            if standalone and db_kwargs.get("engine") == POSTGRES:
                db_kwargs["engine_version"] = db_kwargs.get("engine_version") or DEFAULT_POSTGRES_VERSION
                self.ensure_default_db_parameter_group(backend, db_kwargs["engine_version"])
            instance = original(backend, db_kwargs)
            instance.dbi_resource_id = "db-" + "".join(secrets.choice(_RESOURCE_ID_ALPHABET) for _ in range(26))
            instance._pgaudit_archiver_parameter_status = IN_SYNC
            return instance

        return create

    @staticmethod
    def _parameter_group_status(instance: DBInstance) -> list[DBParameterGroup]:
        """DBParameterGroups[].ParameterApplyStatus: pending-reboot after a static change or a new group, until the
        reboot (RDS User Guide, "Modifying parameters in a DB parameter group")."""
        groups = instance.db_parameter_groups()
        for group in groups:
            group.ParameterApplyStatus = getattr(instance, "_pgaudit_archiver_parameter_status", IN_SYNC)
        return groups

    def _instance_upgrade(self, backend: RDSBackend, instance: DBInstance, kwargs: dict[str, Any]) -> bool:
        """A major version upgrade of an RDS for PostgreSQL DB instance (RDS User Guide, "Upgrading the PostgreSQL DB
        engine for Amazon RDS": AllowMajorVersionUpgrade; "If you use a custom DB parameter group, [...] specify a
        compatible DB parameter group for the new major version"): on a default group it moves to the new family's
        default, on a custom one the request must name a group of the new family. True when the major changes."""
        version = kwargs.get("engine_version")
        if not version or version.split(".")[0] == str(instance.engine_version).split(".")[0]:
            return False
        if not kwargs.get("allow_major_version_upgrade"):
            raise RDSClientError(
                "InvalidParameterCombination",
                "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.",
            )
        if not kwargs.get("db_parameter_group_name"):
            current = self.instance_group(instance).name
            if not is_default_parameter_group(current):
                raise RDSClientError(
                    "InvalidParameterCombination",
                    f"The current DB parameter group {current} is custom. You must explicitly specify a new DB "
                    "parameter group, either default or custom, for the engine version upgrade.",
                )
            default = self.ensure_default_db_parameter_group(backend, version, instance.engine)
            kwargs["db_parameter_group_name"] = default
        return True

    def _modify_db_instance(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """ModifyDBInstance as RDS takes it for a DB instance: a group of another family is refused; a new group waits
        for a reboot (pending-reboot); a major upgrade restarts the server with the new family's group; the
        postgresql export starts or stops shipping; a rename keeps the DbiResourceId (RDS User Guide, "Renaming a DB
        instance")."""

        def modify(backend: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
            with self._lock:
                instance = backend.databases.get(db_instance_identifier)
                if instance is None:
                    return original(backend, db_instance_identifier, db_kwargs)
                standalone = self.is_standalone(instance)
                upgraded = standalone and self._instance_upgrade(backend, instance, db_kwargs)
                new_group = db_kwargs.get("db_parameter_group_name")
                group = backend.db_parameter_groups.get(new_group or "")
                if group is not None and group.family:
                    wanted = parameter_group_family(
                        instance.engine, db_kwargs.get("engine_version") or instance.engine_version
                    )
                    if group.family != wanted:
                        raise RDSClientError(FAMILY_MISMATCH_CODE, family_refusal(new_group, group.family, wanted))
                group_changed = bool(new_group) and new_group != self.instance_group(instance).name
                exports = db_kwargs.get("cloudwatch_logs_export_configuration")
                result = original(backend, db_instance_identifier, db_kwargs)
                if exports:
                    self.hooks.exports_changed(result, list(result.enabled_cloudwatch_logs_exports))
                if upgraded:  # the upgrade restarts the instance with the new group: nothing waits for a reboot
                    result._pgaudit_archiver_parameter_status = IN_SYNC
                    self.hooks.restart(result, self.instance_parameters(result))
                elif group_changed and standalone:
                    result._pgaudit_archiver_parameter_status = PENDING_REBOOT
                return result

        return modify

    def _reboot_db_cluster(self, backend: RDSBackend, db_cluster_identifier: str) -> DBCluster:
        """RebootDBCluster (RDS API reference: "Rebooting a DB cluster restarts the database engine service",
        Multi-AZ DB clusters): every instance reboots and takes the cluster parameter group's pending changes."""
        cluster = backend.clusters.get(db_cluster_identifier)
        if cluster is None:
            raise RDSClientError("DBClusterNotFoundFault", f"DBCluster {db_cluster_identifier} not found.")
        for member in cluster.members:
            member._pgaudit_archiver_rebooting = 2
            member._pgaudit_archiver_parameter_status = IN_SYNC
        self.hooks.restart(cluster, self.effective_parameters(backend, cluster))
        return cluster

    @staticmethod
    def _reboot_db_cluster_response(response: RDSResponse) -> Any:
        cluster = response.backend.reboot_db_cluster(response._get_param("DBClusterIdentifier"))
        return ActionResult({"DBCluster": cluster})

    def _delete_db_instance(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """The server behind a deleted DB instance stops; its log group stays (RDS deletes no log group)."""

        def delete(backend: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
            instance = original(backend, db_instance_identifier, *args, **kwargs)
            self.hooks.deleted(instance)
            return instance

        return delete

    def _delete_db_cluster(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """Deleting a Multi-AZ DB cluster deletes its DB instances with it (they cannot be deleted on their own: RDS
        User Guide, "Deleting a Multi-AZ DB cluster"); the server behind the cluster stops; its log group stays."""

        def delete(backend: RDSBackend, cluster_identifier: str, *args: Any, **kwargs: Any) -> Any:
            cluster = backend.clusters.get(cluster_identifier)
            if cluster is not None and cluster.engine == POSTGRES:
                for member in list(cluster.members):
                    backend.databases.pop(member.db_instance_identifier, None)
            deleted = original(backend, cluster_identifier, *args, **kwargs)
            self.hooks.deleted(deleted)
            return deleted

        return delete

    def _restore_instance(self, original: Callable[..., Any], point_in_time: bool) -> Callable[..., Any]:
        """RestoreDBInstanceFromDBSnapshot / RestoreDBInstanceToPointInTime: a new DB instance (a new DbiResourceId),
        exporting what the request names and with the request's DB parameter group or the engine's default
        (local/aws_rules.py restored_exports); it starts with the source's data."""

        def restore(backend: RDSBackend, *args: Any) -> Any:
            overrides: dict[str, Any] = args[-1]
            if point_in_time:
                source = backend.databases.get(args[0])
            else:
                snapshot_id = str(args[0]).rsplit(":", 1)[-1]
                snapshot = backend.database_snapshots.get(snapshot_id)
                source = snapshot.database if snapshot is not None else None
            instance = original(backend, *args)
            instance.enabled_cloudwatch_logs_exports = restored_exports(overrides.get("enable_cloudwatch_logs_exports"))
            if not overrides.get("db_parameter_group_name"):
                instance.db_parameter_group_name = None  # the engine's default
            instance._pgaudit_archiver_parameter_status = IN_SYNC
            if source is not None:
                self.hooks.copied(source, instance, self.instance_parameters(instance))
            return instance

        return restore

    def _create_blue_green(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """The green environment starts as a copy of the blue's data (RDS User Guide, "Overview of Amazon RDS
        Blue/Green Deployments": the green "stays in sync" with the blue)."""

        def create(backend: RDSBackend, bg_kwargs: dict[str, Any]) -> Any:
            source = self._database_of(backend, str(bg_kwargs.get("source", "")))
            if source is not None:
                self._green_groups(backend, source, bg_kwargs)
            deployment = original(backend, bg_kwargs)
            blue, green = (self._database_of(backend, arn) for arn in (deployment.source, deployment.target))
            if blue is not None and green is not None:
                parameters = (
                    self.effective_parameters(backend, green)
                    if isinstance(green, DBCluster)
                    else self.instance_parameters(green)
                )
                self.hooks.copied(blue, green, parameters)
            return deployment

        return create

    def _green_groups(self, backend: RDSBackend, blue: Database, bg_kwargs: dict[str, Any]) -> None:
        """The green's parameter group must be of its engine version's family, as on every attach; a green of a new
        major on the blue's default group gets the new family's default; on a custom group, the request must name one
        (the RDS User Guide, "Creating a blue/green deployment", asks for a group compatible with the higher engine
        version; RDS's wording for a missing one is not documented: the family refusal stands in)."""
        version = bg_kwargs.get("target_engine_version") or blue.engine_version
        wanted = parameter_group_family(blue.engine, str(version))
        if isinstance(blue, DBCluster):
            key, groups, current = (
                "target_db_cluster_parameter_group_name",
                backend.db_cluster_parameter_groups,
                str(blue.parameter_group),
            )
        else:
            key, groups, current = (
                "target_db_parameter_group_name",
                backend.db_parameter_groups,
                self.instance_group(blue).name,
            )
        named = bg_kwargs.get(key)
        if named:
            group = groups.get(named)
            family = getattr(group, "family", None) or getattr(group, "db_parameter_group_family", None)
            if family and family != wanted:
                raise RDSClientError(FAMILY_MISMATCH_CODE, family_refusal(named, family, wanted))
            return
        if str(version).split(".")[0] == str(blue.engine_version).split(".")[0]:
            return
        if not is_default_parameter_group(current):
            family = parameter_group_family(blue.engine, str(blue.engine_version))
            raise RDSClientError(FAMILY_MISMATCH_CODE, family_refusal(current, family, wanted))
        if isinstance(blue, DBCluster):
            bg_kwargs[key] = self.ensure_default_group(backend, str(version), blue.engine)
        else:
            bg_kwargs[key] = self.ensure_default_db_parameter_group(backend, str(version), blue.engine)

    def _restore_cluster(self, original: Callable[..., Any], point_in_time: bool) -> Callable[..., Any]:
        """RestoreDBClusterFromSnapshot / RestoreDBClusterToPointInTime: a new cluster (a new DbClusterResourceId) that
        starts with the source's data; its exports and group are what the request names (moto: as AWS, checked in
        test_fidelity_lifecycle)."""

        def restore(backend: RDSBackend, *args: Any, **kwargs: Any) -> Any:
            if point_in_time:
                source_id = kwargs.get("source_db_cluster_identifier") or (args[1] if len(args) > 1 else "")
                source = backend.clusters.get(str(source_id).rsplit(":", 1)[-1])
            else:
                snapshot = backend.cluster_snapshots.get(str(args[0]).rsplit(":", 1)[-1])
                source = snapshot.cluster if snapshot is not None else None
                if source is not None:  # moto fails on a cluster whose master password Secrets Manager manages
                    source.__dict__.setdefault("_master_user_password", None)
            cluster = original(backend, *args, **kwargs)
            if source is not None:
                self.hooks.copied(source, cluster, self.parameter_values(backend, cluster.parameter_group))
            return cluster

        return restore

    @staticmethod
    def _create_global_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
        """CreateGlobalCluster from a source cluster in any region (RDS API reference: SourceDBClusterIdentifier, "The
        Amazon Resource Name (ARN) to use as the primary cluster of the global database"); moto keeps global clusters
        in us-east-1 and looks the source up there only. The source becomes the writer member."""

        def create(
            backend: RDSBackend,
            global_cluster_identifier: str,
            source_db_cluster_identifier: str | None,
            engine: str | None,
            engine_version: str | None,
            storage_encrypted: bool | None,
            deletion_protection: bool | None,
        ) -> Any:
            source = source_db_cluster_identifier or ""
            if ":cluster:" not in source or source.split(":")[3] == backend.region_name:
                return original(backend, global_cluster_identifier, source_db_cluster_identifier, engine,
                                engine_version, storage_encrypted, deletion_protection)  # fmt: skip
            if engine is not None:
                raise RDSClientError(
                    "InvalidParameterCombination",
                    "When creating global cluster from existing db cluster, value for engineName should not be "
                    "specified since it will be inherited from source cluster",
                )
            regional = rds_backends[backend.account_id][source.split(":")[3]]
            cluster = regional.describe_db_clusters(db_cluster_identifier=source.rsplit(":", 1)[-1])[0]
            created = original(backend, global_cluster_identifier, None, cluster.engine, cluster.engine_version,
                               storage_encrypted, deletion_protection)  # fmt: skip
            cluster.global_cluster_identifier = created.global_cluster_arn
            cluster.is_writer = True
            created.members.append(cluster)
            return created

        return create

    @staticmethod
    def _database_of(backend: RDSBackend, arn: str) -> Database | None:
        name = arn.rsplit(":", 1)[-1]
        return backend.clusters.get(name) if ":cluster:" in arn else backend.databases.get(name)

    def _switchover(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """Switchover renames each green DB instance to its blue counterpart's name, and each blue to <name>-old1, the
        DB instances of a cluster as well as the cluster (RDS User Guide, "Switching a blue/green deployment"); moto
        renames only the cluster and leaves its instances attached to the old name."""

        def switchover(deployment: BlueGreenDeployment) -> None:
            backend = deployment.backend
            blue, green = (self._database_of(backend, arn) for arn in (deployment.source, deployment.target))
            blue_members = list(blue.members) if isinstance(blue, DBCluster) else []
            green_members = list(green.members) if isinstance(green, DBCluster) else []
            original(deployment)
            if not isinstance(blue, DBCluster) or not isinstance(green, DBCluster):
                return
            renames = [(member, member.db_instance_identifier + OLD_BLUE_SUFFIX, blue.db_cluster_identifier)
                       for member in blue_members]  # fmt: skip
            renames += [(member, blue_member.db_instance_identifier, green.db_cluster_identifier)
                        for member, blue_member in zip(green_members, blue_members, strict=False)]  # fmt: skip
            for member, name, cluster_name in renames:
                backend.databases.pop(member.db_instance_identifier, None)
                member.db_instance_identifier = name
                member.db_cluster_identifier = cluster_name
                backend.databases[name] = member

        return switchover

    def _mark_pending_reboot(self, backend: RDSBackend, cluster: DBCluster) -> None:
        for member in cluster.members:
            member._pgaudit_archiver_parameter_status = PENDING_REBOOT

    def _upgrade(self, backend: RDSBackend, cluster: DBCluster, kwargs: dict[str, Any]) -> bool:
        """A major version upgrade as RDS takes it (Aurora User Guide, "Upgrading the PostgreSQL DB engine for
        Aurora PostgreSQL"): AllowMajorVersionUpgrade required; a cluster on a default group moves to the new
        family's default, one on a custom group must name a group of the new family. True when the major changes."""
        version = kwargs.get("engine_version")
        if not version or version.split(".")[0] == str(cluster.engine_version).split(".")[0]:
            return False
        if not kwargs.get("allow_major_version_upgrade"):
            raise RDSClientError(
                "InvalidParameterCombination",
                "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.",
            )
        if not kwargs.get("db_cluster_parameter_group_name"):
            if not str(cluster.parameter_group).startswith("default."):
                raise RDSClientError(
                    "InvalidParameterCombination",
                    f"The current DB cluster parameter group {cluster.parameter_group} is custom. You must explicitly "
                    "specify a new DB cluster parameter group, either default or custom, for the engine version "
                    "upgrade.",
                )
            kwargs["db_cluster_parameter_group_name"] = self.ensure_default_group(backend, version, cluster.engine)
        return True

    def _modify_db_cluster(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def modify(backend: RDSBackend, kwargs: dict[str, Any]) -> Any:
            with self._lock:
                cluster = backend.clusters.get(kwargs["db_cluster_identifier"])
                exports = kwargs.pop("cloudwatch_logs_export_configuration", None) or {}
                upgraded = cluster is not None and self._upgrade(backend, cluster, kwargs)
                new_group = kwargs.get("db_cluster_parameter_group_name")
                if cluster is not None and new_group and new_group not in backend.db_cluster_parameter_groups:
                    raise RDSClientError(
                        "DBClusterParameterGroupNotFound", f"DBClusterParameterGroup not found: {new_group}"
                    )
                if cluster is not None and new_group:
                    # "can be applied only to a DB cluster running a version compatible with that family"
                    # (CreateDBClusterParameterGroup, RDS API reference); RDS's refusal as it words it for a group
                    # of another family (InvalidParameterCombination).
                    version = kwargs.get("engine_version") or cluster.engine_version
                    wanted = parameter_group_family(cluster.engine, version)
                    family = backend.db_cluster_parameter_groups[new_group].db_parameter_group_family
                    if family != wanted:
                        raise RDSClientError(FAMILY_MISMATCH_CODE, family_refusal(new_group, family, wanted))
                group_changed = cluster is not None and new_group and new_group != cluster.parameter_group
                members = list(cluster.members) if cluster is not None else []
                result = original(backend, kwargs)
                cluster = backend.clusters[kwargs.get("new_db_cluster_identifier") or result.db_cluster_identifier]
                for member in members:  # a renamed cluster keeps its DB instances (moto orphans them)
                    member.db_cluster_identifier = cluster.db_cluster_identifier
                enabled = cluster.enabled_cloudwatch_logs_exports
                enabled[:] = exports_after(enabled, exports)
                if exports:
                    self.hooks.exports_changed(cluster, list(enabled))
                if upgraded:  # the upgrade restarts every instance with the new group: nothing waits for a reboot
                    self.hooks.restart(cluster, self.effective_parameters(backend, cluster))
                elif group_changed:
                    self._mark_pending_reboot(backend, cluster)
                result.enabled_cloudwatch_logs_exports = list(enabled)
                return result

        return modify

    def _modify_parameters(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def modify(
            backend: RDSBackend, db_cluster_parameter_group_name: str, db_cluster_parameter_group_parameters: Any
        ) -> Any:
            name = db_cluster_parameter_group_name
            if is_default_parameter_group(name):
                raise RDSClientError(DEFAULT_GROUP_MODIFIED_CODE, default_group_refusal(name))
            parameters = list(db_cluster_parameter_group_parameters)
            group = backend.db_cluster_parameter_groups.get(name)
            applies = {name: spec.get("ApplyType") for name, spec in (group.parameters if group else {}).items()}
            static = [p for p in parameters if waits_for_reboot(p.get("ApplyMethod"), applies.get(p["ParameterName"]))]
            result = original(backend, name, parameters)
            for cluster in list(backend.clusters.values()):
                if cluster.parameter_group != name:
                    continue
                if static:
                    self._mark_pending_reboot(backend, cluster)
                writer = next((member for member in cluster.members if member.is_cluster_writer), None)
                overridden = self.instance_overrides(backend, writer) if writer is not None else {}
                dynamic = {
                    p["ParameterName"]: p.get("ParameterValue")
                    for p in parameters
                    if p not in static and p["ParameterName"] not in overridden  # the instance's value wins
                }
                if dynamic:
                    self.hooks.apply_dynamic(cluster, dynamic)
            return result

        return modify

    @staticmethod
    def _cluster_members(cluster: DBCluster) -> list[dict[str, Any]]:
        return [
            {
                "DBInstanceIdentifier": member.db_instance_identifier,
                "IsClusterWriter": member.is_cluster_writer,
                "DBClusterParameterGroupStatus": getattr(member, "_pgaudit_archiver_parameter_status", IN_SYNC),
                "PromotionTier": member.promotion_tier,
            }
            for member in cluster.members
        ]

    @staticmethod
    def _instance_status(instance: DBInstance) -> str:
        if getattr(instance, "_pgaudit_archiver_rebooting", 0) > 0:
            instance._pgaudit_archiver_rebooting -= 1  # rebooting for one look, then available
            return "rebooting"
        return instance.__dict__.get("status", "available")

    @staticmethod
    def _set_instance_status(instance: DBInstance, value: str) -> None:
        instance.__dict__["status"] = value

    def _reboot_db_instance(self, backend: RDSBackend, db_instance_identifier: str) -> DBInstance:
        instance = backend.describe_db_instances(db_instance_identifier)[0]
        if instance.status != "available":
            raise RDSClientError("InvalidDBInstanceState", f"Instance {db_instance_identifier} is not available")
        cluster = backend.clusters.get(getattr(instance, "db_cluster_identifier", None) or "")
        rebooting = [instance]
        if cluster is not None and instance.is_cluster_writer and writer_reboots_readers(cluster.engine_version):
            rebooting = list(cluster.members)
        for member in rebooting:
            member._pgaudit_archiver_rebooting = 2  # the reboot response and the next look say "rebooting"
            member._pgaudit_archiver_parameter_status = IN_SYNC
        if cluster is not None and instance.is_cluster_writer:
            self.hooks.restart(cluster, self.effective_parameters(backend, cluster))
        elif cluster is None:  # an RDS for PostgreSQL DB instance restarts with its DB parameter group
            self.hooks.restart(instance, self.instance_parameters(instance))
        return instance

    def _execute_statement(self, response: RDSDataServiceResponse) -> str:
        resource_arn = response._get_param("resourceArn")
        cluster_id = resource_arn.split(":cluster:")[-1]
        cluster = rds_backends[response.current_account][response.region].clusters.get(cluster_id)
        if cluster is None:
            raise JsonRESTError("BadRequestException", f"DB cluster {resource_arn} not found")
        if not cluster.enable_http_endpoint:
            raise JsonRESTError("BadRequestException", f"HttpEndpoint is not enabled for cluster {cluster_id}")
        user = self._database_user(response.current_account, response.region, response._get_param("secretArn"))
        database = response._get_param("database") or "postgres"
        result = self.hooks.execute(cluster, database, response._get_param("sql"), user)
        return json.dumps((result or QueryResults(records=[], number_of_records_updated=0)).to_json())

    def _database_user(self, account: str, region: str, secret_arn: str) -> str:
        """The Data API connects as the user in the secret, which it reads with the caller's credentials (IAM
        checks secretsmanager:GetSecretValue on it first: local/iam.py). Every read is recorded. (The password is
        not checked: the emulation's PostgreSQL trusts local connections.)"""
        secrets = secretsmanager_backends[account][region].secrets
        secret = next((s for s in secrets.values() if getattr(s, "arn", None) == secret_arn), None)
        if secret is None:  # the message AWS gives is not checked here; the code is the Data API's
            raise JsonRESTError("BadRequestException", f"Secrets Manager can't find the specified secret {secret_arn}")
        self.secret_reads.append((account, secret_arn))
        try:
            value = json.loads(secret.secret_string or "{}")
        except ValueError:
            value = {}
        if not isinstance(value, dict) or not value.get("username"):
            raise JsonRESTError("BadRequestException", f"The secret {secret_arn} holds no username and password")
        return str(value["username"])

    # ------------------------------------------------------------------ STS and Step Functions
    @staticmethod
    def _assume_role(original: Callable[..., Any]) -> Callable[..., Any]:
        def assume(backend: STSBackend, **kwargs: Any) -> Any:
            role_arn = kwargs["role_arn"]
            account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
            denied = STSClientError(
                "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
            roles = {role.name: role for role in iam_backends[account]["global"].roles.values()}
            role = roles.get(role_name)
            if role is None:
                raise denied
            required = [
                statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
                for statement in json.loads(role.assume_role_policy_document).get("Statement", [])
            ]
            if any(required) and kwargs.get("external_id") not in required:
                raise denied
            return original(backend, **kwargs)

        return assume

    @staticmethod
    def _execution_history(original: Callable[..., Any]) -> Callable[..., Any]:
        """moto ignores reverseOrder, maxResults and nextToken; AWS pages the history (100 events by default)."""

        def history(response: StepFunctionResponse) -> Any:
            result = original(response)
            payload = result.result
            events = payload.get("events") if isinstance(payload, dict) else None
            if events is None:
                return result
            events = list(events)
            if response._get_param("reverseOrder"):
                events.reverse()
            start = int(response._get_param("nextToken") or 0)
            end = start + int(response._get_param("maxResults") or 100)
            payload["events"] = events[start:end]
            if end < len(events):
                payload["nextToken"] = str(end)  # opaque on AWS; an offset here
            else:
                payload.pop("nextToken", None)
            return result

        return history

    # ------------------------------------------------------------------ CloudWatch Logs
    @staticmethod
    def _destination(destination_arn: str) -> tuple[Any, str, str]:
        _, _, _, region, account, _ = destination_arn.split(":", 5)
        return logs_backends[account][region].destinations.get(destination_arn), region, account

    def _put_subscription_filter(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def put(
            backend: LogsBackend,
            log_group_name: str,
            filter_name: str,
            filter_pattern: str,
            destination_arn: str,
            role_arn: str,
        ) -> None:
            if ":destination:" not in destination_arn:
                return original(backend, log_group_name, filter_name, filter_pattern, destination_arn, role_arn)
            log_group: LogGroup | None = backend.groups.get(log_group_name)
            if log_group is None:
                raise ResourceNotFoundException("The specified log group does not exist.")
            destination, region, _ = self._destination(destination_arn)
            if region != backend.region_name:
                raise InvalidParameterException(
                    f"The destination {destination_arn} must be in the log group's region ({backend.region_name})."
                )
            if destination is None:
                raise InvalidParameterException(f"The destination {destination_arn} does not exist.")
            if not _policy_allows(destination.access_policy, backend.account_id, destination_arn):
                raise _logs_access_denied(
                    f"User with accountId: {backend.account_id} is not authorized to perform: "
                    f"logs:PutSubscriptionFilter on resource: {destination_arn}"
                )
            log_group.put_subscription_filter(filter_name, filter_pattern, destination_arn, role_arn)

        return put

    @staticmethod
    def _log_group_must_exist(original: Callable[..., Any]) -> Callable[..., Any]:
        """moto answers ListTagsForResource and TagResource for any ARN; CloudWatch Logs answers a log group that does
        not exist with ResourceNotFoundException (CloudWatch Logs API reference, ListTagsForResource)."""

        def checked(backend: LogsBackend, resource_arn: str, *args: Any, **kwargs: Any) -> Any:
            if ":log-group:" in resource_arn:
                name = resource_arn.split(":log-group:", 1)[1].removesuffix(":*")
                if name not in backend.groups:
                    raise ResourceNotFoundException(f"The specified log group does not exist: {name}")
            return original(backend, resource_arn, *args, **kwargs)

        return checked

    @staticmethod
    def _put_destination_policy(original: Callable[..., Any]) -> Callable[..., Any]:
        """Replacing a policy that grants accounts with one that grants an organization (aws:PrincipalOrgID) needs
        forceUpdate: the User Guide ("Updating an existing cross-account subscription", step 2) says to "include the
        force parameter" for it. Which error AWS returns without it is not documented: InvalidParameterException,
        the API's validation error, stands in."""

        def put(response: LogsResponse) -> Any:
            name = response._get_param("destinationName")
            destination = next(
                (d for d in response.logs_backend.destinations.values() if d.destination_name == name), None
            )
            current = destination.access_policy if destination is not None else None
            if (
                current
                and not _grants_organization(current)
                and _grants_organization(response._get_param("accessPolicy"))
                and not response._get_param("forceUpdate")
            ):
                raise InvalidParameterException(
                    f"The access policy of destination {name} grants accounts; replacing it with one that grants an "
                    "organization needs forceUpdate, once the senders' subscription filters are updated."
                )
            return original(response)

        return put

    def _send_log_events(self, original: Callable[..., Any]) -> Callable[..., Any]:
        fidelity = self

        def send(
            stream: LogStream, service: str, destination_arn: str, filter_name: str, log_events: list[dict[str, Any]]
        ) -> None:
            subscription = stream.log_group.subscription_filters[filter_name]
            matching = [e for e in log_events if filter_pattern_matches(subscription.filter_pattern, e["message"])]
            if ":destination:" not in destination_arn:
                if matching:
                    original(stream, service, destination_arn, filter_name, matching)
                return
            if not matching:
                return
            destination, region, account = fidelity._destination(destination_arn)
            if destination is None:
                return  # AWS drops events for a deleted destination
            envelope = {
                "messageType": "DATA_MESSAGE",
                "owner": stream.account_id,
                "logGroup": stream.log_group.name,
                "logStream": stream.log_stream_name,
                "subscriptionFilters": [filter_name],
                "logEvents": [{**event, "id": _aws_event_id(event)} for event in matching],
            }
            data = gzip.compress(json.dumps(envelope, separators=(",", ":")).encode())
            group_arn = f"arn:aws:logs:{region}:{stream.account_id}:log-group:{stream.log_group.name}:*"
            refusal = fidelity.delivery_refusal and fidelity.delivery_refusal(destination, group_arn, region)
            if refusal:
                fidelity.refused_deliveries.append(refusal)  # AWS keeps retrying, then drops the events
                return
            firehose = firehose_backends[account][region]
            stream_name = destination.target_arn.split("/", 1)[1]
            firehose.put_record_batch(stream_name, [{"Data": data}])

        return send

    # ------------------------------------------------------------------ Firehose
    def _put_record_batch(self, original: Callable[..., Any]) -> Callable[..., Any]:
        fidelity = self

        def put(backend: FirehoseBackend, delivery_stream_name: str, records: list[dict[str, Any]]) -> dict[str, Any]:
            stream = backend.delivery_streams.get(delivery_stream_name)
            extended = (stream.destinations[0].get("ExtendedS3") if stream and stream.destinations else None) or {}
            if not extended.get("ProcessingConfiguration", {}).get("Enabled"):
                return original(backend, delivery_stream_name, records)
            responses = [{"RecordId": str(uuid.uuid4())} for _ in records]
            fidelity._deliver(backend, stream, extended, records, [r["RecordId"] for r in responses])
            return {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": responses}

        return put

    def _deliver(
        self,
        backend: FirehoseBackend,
        stream: Any,
        config: dict[str, Any],
        records: list[dict[str, Any]],
        ids: list[str],
    ) -> None:
        now = datetime.now(tz=UTC)
        raw = {record_id: _as_bytes(record["Data"]) for record_id, record in zip(ids, records, strict=True)}
        event = {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": stream.delivery_stream_arn,
            "region": backend.region_name,
            "records": [
                {
                    "recordId": record_id,
                    "approximateArrivalTimestamp": int(now.timestamp() * 1000),
                    "data": base64.b64encode(data).decode(),
                }
                for record_id, data in raw.items()
            ],
        }
        processor = config["ProcessingConfiguration"]["Processors"][0]
        arn = next(p["ParameterValue"] for p in processor["Parameters"] if p["ParameterName"] == "LambdaArn")
        if self._firehose_may(stream, config, "lambda:InvokeFunction", arn):
            output, errored = self.lambdas.call(arn, event)
        else:  # Firehose sends the records to the error prefix
            output, errored = {"errorCode": "Lambda.InvokeAccessDenied"}, True
        bucket = config["BucketARN"].split(":::", 1)[1]
        extension = config.get("FileExtension") or (".gz" if config.get("CompressionFormat") == "GZIP" else "")
        by_prefix: dict[str, list[bytes]] = {}
        errors: dict[str, list[bytes]] = {}
        results = {} if errored else {r["recordId"]: r for r in output.get("records", [])}
        for record_id, data in raw.items():
            result = results.get(record_id)
            if result is None or result.get("result") == "ProcessingFailed":
                kind = "processing-failed"
                error_line = {
                    "attemptsMade": 1,
                    "arrivalTimestamp": int(now.timestamp() * 1000),
                    "errorCode": "Lambda.FunctionError" if errored else "Lambda.ProcessingFailed",
                    "errorMessage": json.dumps(output) if errored else "The Lambda function reported ProcessingFailed.",
                    "rawData": base64.b64encode(data).decode(),
                    "lambdaArn": arn,
                }
                prefix = _render_prefix(config.get("ErrorOutputPrefix", ""), {}, now, kind)
                errors.setdefault(prefix, []).append(json.dumps(error_line).encode() + b"\n")
                continue
            if result["result"] == "Dropped":
                continue
            keys = (result.get("metadata") or {}).get("partitionKeys", {})
            prefix = _render_prefix(config.get("Prefix", ""), keys, now, None)
            by_prefix.setdefault(prefix, []).append(base64.b64decode(result["data"]))
        s3 = s3_backends[backend.account_id]["global"]
        # Object names as Firehose writes them: <prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>.
        name = f"{stream.delivery_stream_name}-{stream.version_id}-{now:%Y-%m-%d-%H-%M-%S}"
        for prefix, chunks in by_prefix.items():
            body = b"".join(chunks)
            if config.get("CompressionFormat") == "GZIP":
                body = gzip.compress(body)
            key = f"{prefix}{name}-{uuid.uuid4()}{extension}"
            if self._firehose_may(stream, config, "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}"):
                s3.put_object(bucket, key, body)
        for prefix, chunks in errors.items():
            key = f"{prefix}{name}-{uuid.uuid4()}"
            if self._firehose_may(stream, config, "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}"):
                s3.put_object(bucket, key, b"".join(chunks))

    def _firehose_may(self, stream: Any, config: dict[str, Any], action: str, resource: str) -> bool:
        """Whether Firehose may do `action` with the stream's role (IAM, when the world enforces it); a refused
        write is not delivered (AWS retries it, then gives up)."""
        check = self.firehose_refusal
        refusal = check(config.get("RoleARN", ""), stream.delivery_stream_arn, action, resource) if check else None
        if refusal:
            self.refused_deliveries.append(refusal)
        return not refusal


def _aws_event_id(event: dict[str, Any]) -> str:
    """CloudWatch Logs event ids are 56-digit decimal strings; moto's are integer counters."""
    return f"{event['timestamp']:020d}{int(event['id']):036d}"


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    return base64.b64decode(data) if isinstance(data, str) else bytes(data)


def _render_prefix(prefix: str, keys: dict[str, str], now: datetime, error_type: str | None) -> str:
    """Firehose custom prefix expressions: !{partitionKeyFromLambda:k}, !{timestamp:fmt}, !{firehose:...}."""
    java_to_strftime = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}

    def replace(match: re.Match[str]) -> str:
        namespace, _, argument = match.group(1).partition(":")
        if namespace == "partitionKeyFromLambda":
            return keys[argument]
        if namespace == "timestamp":
            fmt = argument
            for java, python in java_to_strftime.items():
                fmt = fmt.replace(java, python)
            return now.strftime(fmt)
        if namespace == "firehose" and argument == "error-output-type":
            return error_type or "processing-failed"
        if namespace == "firehose" and argument == "random-string":
            return uuid.uuid4().hex[:11]
        raise ValueError(f"unsupported prefix expression !{{{match.group(1)}}}")

    return re.sub(r"!\{([^}]+)\}", replace, prefix)


def _grants_organization(policy_text: str | None) -> bool:
    """Whether a destination access policy grants by aws:PrincipalOrgID rather than naming accounts."""
    statements = json.loads(policy_text or "{}").get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    return any("aws:PrincipalOrgID" in json.dumps(statement.get("Condition", {})) for statement in statements)


def _policy_allows(policy_text: str | None, account_id: str, resource: str) -> bool:
    """Whether a destination access policy allows `account_id` to call logs:PutSubscriptionFilter on it."""
    if not policy_text:
        return False
    policy = json.loads(policy_text)
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(action in {"logs:PutSubscriptionFilter", "logs:*", "*"} for action in actions):
            continue
        principals = (statement.get("Principal") or {}).get("AWS", [])
        principals = [principals] if isinstance(principals, str) else principals
        if not any(p in {account_id, f"arn:aws:iam::{account_id}:root", "*"} for p in principals):
            continue
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(r in {resource, "*"} for r in resources):
            return True
    return False
