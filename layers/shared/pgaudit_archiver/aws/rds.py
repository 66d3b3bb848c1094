"""RDS calls in the source account: clusters, instances, DB cluster parameter groups, and the instances' DB
parameter groups (read only)."""

from __future__ import annotations

from typing import Any

import boto3

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG

# ModifyDBClusterParameterGroup takes at most 20 parameters per call (RDS API reference).
MAX_PARAMETERS_PER_MODIFY = 20
# The source role may modify a cluster, or reboot an instance, only when it carries this tag, and may add no other
# tag (source-account/template.yaml): each modification tags first, so the tag marks what the archive changed.
MANAGED_TAG = {"Key": "pgaudit-archiver:managed", "Value": "true"}


class SourceRds:
    def __init__(self, session: boto3.Session) -> None:
        self._rds = guarded(session.client("rds", config=CLIENT_CONFIG))

    def describe_cluster(self, cluster_id: str) -> dict[str, Any] | None:
        with refused("DBClusterNotFoundFault"):
            clusters: list[dict[str, Any]] = self._rds.describe_db_clusters(DBClusterIdentifier=cluster_id)[
                "DBClusters"
            ]
            return clusters[0] if clusters else None
        return None

    def describe_parameter_group(self, group_name: str) -> dict[str, Any] | None:
        with refused("DBParameterGroupNotFound"):
            groups: list[dict[str, Any]] = self._rds.describe_db_cluster_parameter_groups(
                DBClusterParameterGroupName=group_name
            )["DBClusterParameterGroups"]
            return groups[0]
        return None

    def create_parameter_group(self, group_name: str, family: str, description: str, tags: dict[str, str]) -> None:
        self._rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=group_name, DBParameterGroupFamily=family, Description=description,
            Tags=_tag_list(tags),
        )  # fmt: skip

    def copy_parameter_group(self, source_name: str, group_name: str, description: str, tags: dict[str, str]) -> None:
        self._rds.copy_db_cluster_parameter_group(
            SourceDBClusterParameterGroupIdentifier=source_name, TargetDBClusterParameterGroupIdentifier=group_name,
            TargetDBClusterParameterGroupDescription=description, Tags=_tag_list(tags),
        )  # fmt: skip

    def parameter_values(self, group_name: str, names: set[str]) -> dict[str, str | None]:
        """Current values of the named parameters (None when unset). Only those are asked for: "The only supported
        filter is parameter-name" (DescribeDBClusterParameters API reference), so one page answers instead of the
        whole group's several hundred parameters at 100 a page."""
        values: dict[str, str | None] = dict.fromkeys(names)
        paginator = self._rds.get_paginator("describe_db_cluster_parameters")
        for page in paginator.paginate(DBClusterParameterGroupName=group_name, Filters=_named(names)):
            for parameter in page["Parameters"]:
                if parameter["ParameterName"] in names:
                    values[parameter["ParameterName"]] = parameter.get("ParameterValue")
        return values

    def user_cluster_parameters(self, group_name: str) -> list[dict[str, Any]]:
        """Every parameter a DB cluster parameter group sets itself (Source=user): name, value, apply method."""
        paginator = self._rds.get_paginator("describe_db_cluster_parameters")
        return [
            parameter
            for page in paginator.paginate(DBClusterParameterGroupName=group_name, Source="user")
            for parameter in page["Parameters"]
        ]

    def known_parameters(self, group_name: str, names: set[str]) -> set[str]:
        """Which of `names` the group's family has (a parameter a family lacks is not listed at all)."""
        paginator = self._rds.get_paginator("describe_db_cluster_parameters")
        return {
            parameter["ParameterName"]
            for page in paginator.paginate(DBClusterParameterGroupName=group_name, Filters=_named(names))
            for parameter in page["Parameters"]
            if parameter["ParameterName"] in names
        }

    def user_parameter_values(self, group_name: str, names: set[str]) -> dict[str, str | None]:
        """The named parameters a DB (instance) parameter group sets itself (Source=user), by name; a parameter the
        group leaves at its default is absent. A value set there takes precedence over the cluster parameter group's
        (Aurora User Guide, "Working with DB cluster parameter groups")."""
        values: dict[str, str | None] = {}
        paginator = self._rds.get_paginator("describe_db_parameters")
        for page in paginator.paginate(DBParameterGroupName=group_name, Source="user", Filters=_named(names)):
            for parameter in page["Parameters"]:
                if parameter["ParameterName"] in names:
                    values[parameter["ParameterName"]] = parameter.get("ParameterValue")
        return values

    def modify_parameters(self, group_name: str, parameters: list[dict[str, str]]) -> None:
        for start in range(0, len(parameters), MAX_PARAMETERS_PER_MODIFY):
            self._rds.modify_db_cluster_parameter_group(
                DBClusterParameterGroupName=group_name,
                Parameters=parameters[start : start + MAX_PARAMETERS_PER_MODIFY],
            )

    def _tagged(self, resource: dict[str, Any] | None, arn_key: str) -> None:
        if resource is not None and MANAGED_TAG not in resource.get("TagList", []):
            self._rds.add_tags_to_resource(ResourceName=resource[arn_key], Tags=[MANAGED_TAG])

    def _tag_cluster(self, cluster_id: str) -> None:
        self._tagged(self.describe_cluster(cluster_id), "DBClusterArn")

    def attach_parameter_group(self, cluster_id: str, group_name: str) -> None:
        self._tag_cluster(cluster_id)
        self._rds.modify_db_cluster(
            DBClusterIdentifier=cluster_id, DBClusterParameterGroupName=group_name, ApplyImmediately=True
        )

    def enable_log_export(self, cluster_id: str, log_type: str) -> None:
        self._change_log_exports(cluster_id, {"EnableLogTypes": [log_type]})

    def disable_log_export(self, cluster_id: str, log_type: str) -> None:
        self._change_log_exports(cluster_id, {"DisableLogTypes": [log_type]})

    def _change_log_exports(self, cluster_id: str, change: dict[str, list[str]]) -> None:
        # Only the types named change: the types already exported stay as they are.
        self._tag_cluster(cluster_id)
        self._rds.modify_db_cluster(
            DBClusterIdentifier=cluster_id, CloudwatchLogsExportConfiguration=change, ApplyImmediately=True
        )

    def delete_parameter_group(self, group_name: str) -> bool:
        """False when the group is still in use (RDS refuses to delete it then)."""
        with refused("InvalidDBParameterGroupState", "DBParameterGroupNotFound") as refusal:
            self._rds.delete_db_cluster_parameter_group(DBClusterParameterGroupName=group_name)
        return refusal.code != "InvalidDBParameterGroupState"

    def describe_instance(self, instance_id: str) -> dict[str, Any]:
        instance: dict[str, Any] = self._rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
        return instance

    def reboot_instance(self, instance_id: str) -> None:
        self._tagged(self.describe_instance(instance_id), "DBInstanceArn")
        self._rds.reboot_db_instance(DBInstanceIdentifier=instance_id)


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _named(names: set[str]) -> list[dict[str, Any]]:
    # DescribeDBClusterParameters and DescribeDBParameters: "The only supported filter is parameter-name".
    return [{"Name": "parameter-name", "Values": sorted(names)}]
