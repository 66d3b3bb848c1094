"""RDS calls in the source account for the three kinds of database (kinds.py): DB clusters (Aurora PostgreSQL and
Multi-AZ), DB instances, and the parameter groups that hold their pgaudit settings (DB cluster parameter groups, or
a DB instance's DB parameter group). Descriptions become typed facts here (DatabaseFacts, InstanceFacts): the steps
never read a describe dictionary."""

from __future__ import annotations

from typing import Any

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG, ClientMaker
from pgaudit_archiver.consent import tags_of
from pgaudit_archiver.kinds import DatabaseKind, GroupScope, cluster_kind_for_engine, kind_of
from pgaudit_archiver.models import DatabaseFacts, DatabaseMember, InstanceFacts, Source

# ModifyDBClusterParameterGroup and ModifyDBParameterGroup take at most 20 parameters per call (RDS API reference).
MAX_PARAMETERS_PER_MODIFY = 20
# The source role may modify a database, or reboot an instance, only when it carries this tag, and may add no other
# tag (source-account/template.yaml): each modification tags first, so the tag marks what the archive changed.
MANAGED_TAG = {"Key": "pgaudit-archiver:managed", "Value": "true"}
READY_STATUSES = frozenset({"available"})
IN_SYNC = "in-sync"
# A deployment in these has no green to prepare any more (DescribeBlueGreenDeployments, Status).
SWITCHOVER_COMPLETED = "SWITCHOVER_COMPLETED"
BLUE_GREEN_DONE = frozenset({SWITCHOVER_COMPLETED, "DELETING"})
AURORA = DatabaseKind.AURORA_CLUSTER


def cluster_facts(cluster: dict[str, Any], polls: int = 0) -> DatabaseFacts:
    """A DescribeDBClusters entry (Aurora or Multi-AZ: the engine tells them apart) as facts."""
    kind = cluster_kind_for_engine(cluster.get("Engine")) or kind_of(AURORA)
    return DatabaseFacts(
        kind=kind.kind,
        identifier=cluster["DBClusterIdentifier"],
        resource_id=cluster.get("DbClusterResourceId", ""),
        arn=cluster["DBClusterArn"],
        engine=cluster.get("Engine", ""),
        status=cluster["Status"],
        ready=cluster["Status"] in READY_STATUSES,
        engine_version=cluster.get("EngineVersion", ""),
        parameter_group=cluster["DBClusterParameterGroup"],
        http_endpoint_enabled=bool(cluster.get("HttpEndpointEnabled")),
        master_secret_arn=(cluster.get("MasterUserSecret") or {}).get("SecretArn"),
        database_name=cluster.get("DatabaseName"),
        members=tuple(
            DatabaseMember(
                instance_id=member["DBInstanceIdentifier"],
                is_writer=bool(member["IsClusterWriter"]),
                parameter_group_status=member.get("DBClusterParameterGroupStatus", IN_SYNC),
            )
            for member in cluster.get("DBClusterMembers", [])
        ),
        exported_log_types=tuple(cluster.get("EnabledCloudwatchLogsExports", [])),
        tags=tags_of(cluster.get("TagList")),
        polls=polls,
    )


def instance_facts(instance: dict[str, Any]) -> InstanceFacts:
    groups = instance.get("DBParameterGroups", [])
    return InstanceFacts(
        identifier=instance["DBInstanceIdentifier"],
        resource_id=instance.get("DbiResourceId", ""),
        arn=instance["DBInstanceArn"],
        engine=instance.get("Engine", ""),
        engine_version=instance.get("EngineVersion", ""),
        status=instance["DBInstanceStatus"],
        cluster_id=instance.get("DBClusterIdentifier"),
        parameter_groups=tuple((g["DBParameterGroupName"], g.get("ParameterApplyStatus", IN_SYNC)) for g in groups),
        exported_log_types=tuple(instance.get("EnabledCloudwatchLogsExports", [])),
        tags=tags_of(instance.get("TagList")),
        master_secret_arn=(instance.get("MasterUserSecret") or {}).get("SecretArn"),
        database_name=instance.get("DBName"),
    )


def standalone_instance_facts(instance: InstanceFacts, polls: int = 0) -> DatabaseFacts:
    """A DB instance as a database: its own only member, its DB parameter group the one that holds the settings."""
    group, apply_status = instance.parameter_groups[0] if instance.parameter_groups else ("", IN_SYNC)
    return DatabaseFacts(
        kind=DatabaseKind.DB_INSTANCE,
        identifier=instance.identifier,
        resource_id=instance.resource_id,
        arn=instance.arn,
        engine=instance.engine,
        status=instance.status,
        ready=instance.status in READY_STATUSES,
        engine_version=instance.engine_version,
        parameter_group=group,
        http_endpoint_enabled=False,  # the RDS Data API serves Aurora DB clusters only
        master_secret_arn=instance.master_secret_arn,
        database_name=instance.database_name,
        members=(DatabaseMember(instance_id=instance.identifier, is_writer=True, parameter_group_status=apply_status),),
        exported_log_types=instance.exported_log_types,
        tags=instance.tags,
        polls=polls,
    )


class SourceRds:
    def __init__(self, session: ClientMaker) -> None:
        self._rds = guarded(session.client("rds", config=CLIENT_CONFIG))

    # -- what the steps read: typed facts
    def database(self, source: Source, polls: int = 0) -> DatabaseFacts | None:
        """The source's database, None when there is none of its kind: a DB cluster of either kind for a cluster
        source (the engine says which), a standalone DB instance (not a DB cluster's member) for an instance source."""
        if kind_of(source.kind).is_cluster:
            cluster = self.describe_cluster(source.cluster_id)
            return None if cluster is None else cluster_facts(cluster, polls)
        instance = self.instance(source.cluster_id)
        if instance is None or instance.cluster_id:
            return None
        return standalone_instance_facts(instance, polls)

    def instance(self, instance_id: str) -> InstanceFacts | None:
        raw = self.describe_instance(instance_id)
        return None if raw is None else instance_facts(raw)

    # -- the describe calls (the data-access layer's own; in-memory fakes answer them)
    def describe_cluster(self, cluster_id: str) -> dict[str, Any] | None:
        with refused("DBClusterNotFoundFault"):
            clusters: list[dict[str, Any]] = self._rds.describe_db_clusters(DBClusterIdentifier=cluster_id)[
                "DBClusters"
            ]
            return clusters[0] if clusters else None
        return None

    def describe_instance(self, instance_id: str) -> dict[str, Any] | None:
        with refused("DBInstanceNotFound"):
            instances: list[dict[str, Any]] = self._rds.describe_db_instances(DBInstanceIdentifier=instance_id)[
                "DBInstances"
            ]
            return instances[0] if instances else None
        return None

    def database_by_resource_id(self, kind: DatabaseKind, resource_id: str) -> DatabaseFacts | None:
        """The database of `kind` whose resource id (DbClusterResourceId, DbiResourceId) this is, under whatever name
        it has now (a rename keeps the resource id); None when no database has it any more."""
        if kind_of(kind).is_cluster:
            cluster = self.describe_cluster_by_resource_id(resource_id)
            return None if cluster is None else cluster_facts(cluster)
        raw = self.describe_instance_by_resource_id(resource_id)
        if raw is None or raw.get("DBClusterIdentifier"):
            return None
        return standalone_instance_facts(instance_facts(raw))

    def describe_cluster_by_resource_id(self, resource_id: str) -> dict[str, Any] | None:
        # DescribeDBClusters Filters: "db-cluster-resource-id - Accepts DB cluster resource identifiers" (API reference)
        filters = [{"Name": "db-cluster-resource-id", "Values": [resource_id]}]
        clusters: list[dict[str, Any]] = self._rds.describe_db_clusters(Filters=filters)["DBClusters"]
        return clusters[0] if clusters else None

    def describe_instance_by_resource_id(self, resource_id: str) -> dict[str, Any] | None:
        # DescribeDBInstances Filters: "dbi-resource-id - Accepts DB instance resource identifiers" (API reference)
        filters = [{"Name": "dbi-resource-id", "Values": [resource_id]}]
        instances: list[dict[str, Any]] = self._rds.describe_db_instances(Filters=filters)["DBInstances"]
        return instances[0] if instances else None

    def pending_greens(self, database: DatabaseFacts) -> list[tuple[str, DatabaseFacts]]:
        """(deployment id, green) of each blue/green deployment whose blue is `database` and that has not switched
        over: "Before switchover, the source database is the production database in the blue environment"
        (DescribeBlueGreenDeployments: `Source`, `Target` are ARNs)."""
        greens = []
        for deployment in self.describe_blue_green_deployments(database.arn):
            if deployment.get("Status") in BLUE_GREEN_DONE or not deployment.get("Target"):
                continue
            green = self._database_at(database.kind, deployment["Target"])
            if green is not None:
                greens.append((str(deployment["BlueGreenDeploymentIdentifier"]), green))
        return greens

    def _database_at(self, kind: DatabaseKind, arn: str) -> DatabaseFacts | None:
        identifier = arn.rsplit(":", 1)[-1]  # arn:<partition>:rds:<region>:<account>:cluster|db:<identifier>
        if kind_of(kind).is_cluster:
            cluster = self.describe_cluster(identifier)
            return None if cluster is None else cluster_facts(cluster)
        instance = self.describe_instance(identifier)
        return None if instance is None else standalone_instance_facts(instance_facts(instance))

    def old_blues_of(self, database: DatabaseFacts) -> list[str]:
        """The identifiers of the old blues of each blue/green deployment that switched over to `database`: after
        switchover, DescribeBlueGreenDeployments names the renamed old blue (<name>-old1) as `Source` and the green,
        now under the production name, as `Target`, with Status SWITCHOVER_COMPLETED (AWS CLI Command Reference,
        describe-blue-green-deployments, "after switchover" example). The old blue may be deleted since."""
        return [
            str(deployment["Source"]).rsplit(":", 1)[-1]
            for deployment in self.describe_blue_green_deployments(database.arn, "target")
            if deployment.get("Status") == SWITCHOVER_COMPLETED and deployment.get("Target") == database.arn
        ]

    def describe_blue_green_deployments(self, arn: str, role: str = "source") -> list[dict[str, Any]]:
        # Filters: "source - Accepts source databases for a blue/green deployment"; "target - Accepts target
        # databases for a blue/green deployment" (DescribeBlueGreenDeployments, API reference)
        pages = self._rds.get_paginator("describe_blue_green_deployments").paginate(
            Filters=[{"Name": role, "Values": [arn]}]
        )
        return [deployment for page in pages for deployment in page["BlueGreenDeployments"]]

    # -- parameter groups: DB cluster parameter groups for either kind of cluster, DB parameter groups for instances
    def describe_parameter_group(self, group_name: str, kind: DatabaseKind = AURORA) -> dict[str, Any] | None:
        """Name, DBParameterGroupFamily and Description of the group, None when there is none."""
        with refused("DBParameterGroupNotFound"):
            if _scope(kind) == "cluster":
                groups: list[dict[str, Any]] = self._rds.describe_db_cluster_parameter_groups(
                    DBClusterParameterGroupName=group_name
                )["DBClusterParameterGroups"]
            else:
                groups = self._rds.describe_db_parameter_groups(DBParameterGroupName=group_name)["DBParameterGroups"]
            return groups[0]
        return None

    def create_parameter_group(
        self, group_name: str, family: str, description: str, tags: dict[str, str], kind: DatabaseKind = AURORA
    ) -> None:
        if _scope(kind) == "cluster":
            self._rds.create_db_cluster_parameter_group(
                DBClusterParameterGroupName=group_name, DBParameterGroupFamily=family, Description=description,
                Tags=_tag_list(tags),
            )  # fmt: skip
        else:
            self._rds.create_db_parameter_group(
                DBParameterGroupName=group_name, DBParameterGroupFamily=family, Description=description,
                Tags=_tag_list(tags),
            )  # fmt: skip

    def copy_parameter_group(
        self, source_name: str, group_name: str, description: str, tags: dict[str, str], kind: DatabaseKind = AURORA
    ) -> None:
        if _scope(kind) == "cluster":
            self._rds.copy_db_cluster_parameter_group(
                SourceDBClusterParameterGroupIdentifier=source_name, TargetDBClusterParameterGroupIdentifier=group_name,
                TargetDBClusterParameterGroupDescription=description, Tags=_tag_list(tags),
            )  # fmt: skip
        else:
            self._rds.copy_db_parameter_group(
                SourceDBParameterGroupIdentifier=source_name, TargetDBParameterGroupIdentifier=group_name,
                TargetDBParameterGroupDescription=description, Tags=_tag_list(tags),
            )  # fmt: skip

    def _parameters(self, group_name: str, kind: DatabaseKind, **options: Any) -> list[dict[str, Any]]:
        if _scope(kind) == "cluster":
            pages = self._rds.get_paginator("describe_db_cluster_parameters").paginate(
                DBClusterParameterGroupName=group_name, **options
            )
        else:
            pages = self._rds.get_paginator("describe_db_parameters").paginate(
                DBParameterGroupName=group_name, **options
            )
        return [parameter for page in pages for parameter in page["Parameters"]]

    def parameter_values(self, group_name: str, names: set[str], kind: DatabaseKind = AURORA) -> dict[str, str | None]:
        """Current values of the named parameters (None when unset). Only those are asked for: "The only supported
        filter is parameter-name" (DescribeDBClusterParameters API reference), so one page answers instead of the
        whole group's several hundred parameters at 100 a page."""
        values: dict[str, str | None] = dict.fromkeys(names)
        for parameter in self._parameters(group_name, kind, Filters=_named(names)):
            if parameter["ParameterName"] in names:
                values[parameter["ParameterName"]] = parameter.get("ParameterValue")
        return values

    def user_cluster_parameters(self, group_name: str, kind: DatabaseKind = AURORA) -> list[dict[str, Any]]:
        """Every parameter the group sets itself (Source=user): name, value, apply type."""
        return self._parameters(group_name, kind, Source="user")

    def known_parameters(self, group_name: str, names: set[str], kind: DatabaseKind = AURORA) -> set[str]:
        """Which of `names` the group's family has (a parameter a family lacks is not listed at all)."""
        return {p["ParameterName"] for p in self._parameters(group_name, kind, Filters=_named(names))} & names

    def user_parameter_values(self, group_name: str, names: set[str]) -> dict[str, str | None]:
        """The named parameters an Aurora member's DB parameter group sets itself (Source=user), by name; a parameter
        the group leaves at its default is absent. A value set there takes precedence over the cluster parameter
        group's (Aurora User Guide, "Working with DB cluster parameter groups")."""
        values: dict[str, str | None] = {}
        paginator = self._rds.get_paginator("describe_db_parameters")
        for page in paginator.paginate(DBParameterGroupName=group_name, Source="user", Filters=_named(names)):
            for parameter in page["Parameters"]:
                if parameter["ParameterName"] in names:
                    values[parameter["ParameterName"]] = parameter.get("ParameterValue")
        return values

    def modify_parameters(self, group_name: str, parameters: list[dict[str, str]], kind: DatabaseKind = AURORA) -> None:
        for start in range(0, len(parameters), MAX_PARAMETERS_PER_MODIFY):
            batch = parameters[start : start + MAX_PARAMETERS_PER_MODIFY]
            if _scope(kind) == "cluster":
                self._rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=group_name, Parameters=batch)
            else:
                self._rds.modify_db_parameter_group(DBParameterGroupName=group_name, Parameters=batch)

    def delete_parameter_group(self, group_name: str, kind: DatabaseKind = AURORA) -> bool:
        """False when the group is still in use (RDS refuses to delete it then)."""
        with refused("InvalidDBParameterGroupState", "DBParameterGroupNotFound") as refusal:
            if _scope(kind) == "cluster":
                self._rds.delete_db_cluster_parameter_group(DBClusterParameterGroupName=group_name)
            else:
                self._rds.delete_db_parameter_group(DBParameterGroupName=group_name)
        return refusal.code != "InvalidDBParameterGroupState"

    # -- changes to the database: each tags it first (MANAGED_TAG)
    def _tagged(self, resource: dict[str, Any] | None, arn_key: str) -> None:
        if resource is not None and MANAGED_TAG not in resource.get("TagList", []):
            self._rds.add_tags_to_resource(ResourceName=resource[arn_key], Tags=[MANAGED_TAG])

    def _tag_database(self, database_id: str, kind: DatabaseKind) -> None:
        if kind_of(kind).is_cluster:
            self._tagged(self.describe_cluster(database_id), "DBClusterArn")
        else:
            self._tagged(self.describe_instance(database_id), "DBInstanceArn")

    def _modify(self, database_id: str, kind: DatabaseKind, **changes: Any) -> None:
        """ModifyDBCluster for either kind of cluster, ModifyDBInstance for a DB instance."""
        self._tag_database(database_id, kind)
        if kind_of(kind).is_cluster:
            self._rds.modify_db_cluster(DBClusterIdentifier=database_id, ApplyImmediately=True, **changes)
        else:
            self._rds.modify_db_instance(DBInstanceIdentifier=database_id, ApplyImmediately=True, **changes)

    def attach_parameter_group(self, database_id: str, group_name: str, kind: DatabaseKind = AURORA) -> None:
        option = "DBClusterParameterGroupName" if _scope(kind) == "cluster" else "DBParameterGroupName"
        self._modify(database_id, kind, **{option: group_name})

    def enable_log_export(self, database_id: str, log_type: str, kind: DatabaseKind = AURORA) -> None:
        self._change_log_exports(database_id, {"EnableLogTypes": [log_type]}, kind)

    def disable_log_export(self, database_id: str, log_type: str, kind: DatabaseKind = AURORA) -> None:
        self._change_log_exports(database_id, {"DisableLogTypes": [log_type]}, kind)

    def _change_log_exports(self, database_id: str, change: dict[str, list[str]], kind: DatabaseKind) -> None:
        # Only the types named change: the types already exported stay as they are.
        self._modify(database_id, kind, CloudwatchLogsExportConfiguration=change)

    def reboot_instance(self, instance_id: str) -> None:
        self._tagged(self.describe_instance(instance_id), "DBInstanceArn")
        self._rds.reboot_db_instance(DBInstanceIdentifier=instance_id)

    def reboot_cluster(self, cluster_id: str) -> None:
        """RebootDBCluster: "Use this operation only for a non-Aurora Multi-AZ DB cluster" (RDS API reference)."""
        self._tagged(self.describe_cluster(cluster_id), "DBClusterArn")
        self._rds.reboot_db_cluster(DBClusterIdentifier=cluster_id)


def _scope(kind: DatabaseKind) -> GroupScope:
    scope: GroupScope = kind_of(kind).group_scope
    return scope


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _named(names: set[str]) -> list[dict[str, Any]]:
    # DescribeDBClusterParameters and DescribeDBParameters: "The only supported filter is parameter-name".
    return [{"Name": "parameter-name", "Values": sorted(names)}]
