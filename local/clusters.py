"""The real PostgreSQL servers behind the emulated Aurora PostgreSQL clusters, plugged into the RDS emulation."""

from __future__ import annotations

import datetime
import decimal
import re
from typing import TYPE_CHECKING, Any

import psycopg
from moto.core.exceptions import JsonRESTError
from moto.rds.models import DBCluster, rds_backends
from moto.rdsdata.models import QueryResults

from local.fidelity import ClusterHooks
from local.postgres import MASTER_USER, RDS_SUPERUSER, LogShipper, PostgresServer
from pgaudit_archiver.naming import LOG_TYPE, log_group_name

if TYPE_CHECKING:
    from local.world import World

RDS_EXTENSION = re.compile(r"^\s*CREATE\s+EXTENSION\s+(IF\s+NOT\s+EXISTS\s+)?\"?pgaudit\"?\s*;?\s*$", re.IGNORECASE)


def data_api_field(value: Any) -> dict[str, Any]:
    """One value as the RDS Data API returns it in `records`."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes | memoryview):
        return {"blobValue": bytes(value)}
    if isinstance(value, decimal.Decimal | datetime.date | datetime.time):
        return {"stringValue": str(value)}
    return {"stringValue": str(value)}


class RealPostgresClusters(ClusterHooks):
    def __init__(self, world: World) -> None:
        self.world = world
        self.servers: dict[tuple[str, str], PostgresServer] = {}
        self.shippers: dict[tuple[str, str], LogShipper] = {}

    def attach(
        self, account: str, cluster_id: str, writer: str, database: str, parameters: dict[str, str | None]
    ) -> None:
        server = PostgresServer(cluster_id, databases=(database,))
        server.start(parameters)
        self.servers[(account, cluster_id)] = server
        logs = self.world.client("logs", account)
        group = log_group_name(cluster_id)

        def deliver(events: list[dict[str, Any]]) -> None:
            # RDS creates the group when it is missing, and one stream per instance.
            if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
                logs.create_log_group(logGroupName=group)
            if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=writer)["logStreams"]:
                logs.create_log_stream(logGroupName=group, logStreamName=writer)
            logs.put_log_events(logGroupName=group, logStreamName=writer, logEvents=events)

        shipper = LogShipper(server.log_path, deliver)
        shipper.set_export(LOG_TYPE in self._cluster(account, cluster_id).enabled_cloudwatch_logs_exports)
        shipper.start()
        self.shippers[(account, cluster_id)] = shipper

    def flush_logs(self) -> None:
        for shipper in self.shippers.values():
            shipper.flush()

    def server(self, account: str, cluster_id: str) -> PostgresServer:
        return self.servers[(account, cluster_id)]

    def close(self) -> None:
        for shipper in self.shippers.values():
            shipper.stop()
        for server in self.servers.values():
            server.stop()
        self.shippers.clear()
        self.servers.clear()

    def _cluster(self, account: str, cluster_id: str) -> DBCluster:
        return rds_backends[account][self.world.region].clusters[cluster_id]

    @staticmethod
    def _key(cluster: DBCluster) -> tuple[str, str]:
        return cluster.account_id, cluster.db_cluster_identifier

    # ------------------------------------------------------------------ hooks called by the RDS emulation
    def restart(self, cluster: DBCluster, parameters: dict[str, str | None]) -> None:
        server = self.servers.get(self._key(cluster))
        if server is not None:
            server.restart(parameters)

    def exports_changed(self, cluster: DBCluster, log_types: list[str]) -> None:
        shipper = self.shippers.get(self._key(cluster))
        if shipper is not None:
            shipper.set_export(LOG_TYPE in log_types)

    def apply_dynamic(self, cluster: DBCluster, parameters: dict[str, str | None]) -> None:
        server = self.servers.get(self._key(cluster))
        if server is not None:
            server.reload(parameters)

    def execute(self, cluster: DBCluster, database: str, sql: str, user: str) -> QueryResults | None:
        """Run a Data API statement as `user` (the secret's). A statement PostgreSQL refuses is the Data API's
        DatabaseErrorException, with PostgreSQL's message."""
        server = self.servers.get(self._key(cluster))
        if server is None:
            return None
        # RDS lets members of rds_superuser create the extensions it supports (pgaudit among them, Aurora user guide,
        # "Setting up the pgAudit extension"); a plain PostgreSQL wants a superuser for an extension that is not
        # trusted: such a member's CREATE EXTENSION runs as the bootstrap superuser, and only theirs.
        as_user = user
        if RDS_EXTENSION.match(sql) and server.member_of(user, RDS_SUPERUSER):
            as_user = MASTER_USER
        try:
            rows, affected = server.execute(database, sql, as_user)
        except psycopg.Error as error:
            raise JsonRESTError("DatabaseErrorException", str(error).strip()) from error
        return QueryResults(
            records=[[data_api_field(value) for value in row] for row in rows],
            number_of_records_updated=0 if rows else max(affected, 0),
        )
