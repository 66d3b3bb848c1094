"""The real PostgreSQL servers behind the emulated databases (Aurora and Multi-AZ DB clusters, RDS for PostgreSQL DB
instances), plugged into the RDS emulation."""

from __future__ import annotations

import datetime
import decimal
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import psycopg
from moto.core.exceptions import JsonRESTError
from moto.rds.models import DBCluster, DBInstance, rds_backends
from moto.rdsdata.models import QueryResults

from local.aws_rules import postgresql_log_group
from local.fidelity import ClusterHooks, Database, resource_id
from local.postgres import MASTER_USER, RDS_SUPERUSER, LogShipper, PostgresServer
from pgaudit_archiver.naming import LOG_TYPE

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
    """One real PostgreSQL per database (an Aurora or Multi-AZ DB cluster: one server, its writer's; a DB instance:
    its own), keyed by resource id so that it follows its database through renames and blue/green switchovers."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.servers: dict[tuple[str, str], PostgresServer] = {}  # (account, resource id)
        self.shippers: dict[tuple[str, str], LogShipper] = {}

    def attach(
        self, account: str, cluster_id: str, writer: str, database: str, parameters: dict[str, str | None]
    ) -> None:
        """A server behind a cluster (Aurora or Multi-AZ); `writer` is kept for the callers of old."""
        self._start(self._cluster(account, cluster_id), database, parameters)

    def attach_instance(self, account: str, instance_id: str, database: str, parameters: dict[str, str | None]) -> None:
        """A server behind an RDS for PostgreSQL DB instance."""
        self._start(self._instance(account, instance_id), database, parameters)

    def _start(
        self,
        resource: Database,
        database: str,
        parameters: dict[str, str | None],
        copy_of: PostgresServer | None = None,
    ) -> None:
        key = self._key(resource)
        server = PostgresServer(resource_id(resource), databases=(database,))
        server.start(parameters, copy_of=copy_of)
        self.servers[key] = server
        account, rid = key
        region = str(resource.region)
        logs = self.world.client("logs", account, region)

        def deliver(events: list[dict[str, Any]]) -> None:
            # Where RDS writes now: the log group of the database's current name, a stream per DB instance.
            live = self._by_resource_id(account, rid, region)
            if live is None:
                return  # deleted: nothing more is written
            group, stream = self.log_destination(live)
            if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
                logs.create_log_group(logGroupName=group)  # RDS creates the group when it is missing
            if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

        shipper = LogShipper(server.log_path, deliver)
        shipper.set_export(LOG_TYPE in resource.enabled_cloudwatch_logs_exports)
        shipper.start()
        self.shippers[key] = shipper

    @staticmethod
    def log_destination(resource: Database) -> tuple[str, str]:
        """(log group, log stream) of the postgresql log: the cluster's group and its writer's stream, or the DB
        instance's group and stream."""
        if isinstance(resource, DBCluster):
            writer = next((m for m in resource.members if m.is_cluster_writer), None)
            stream = writer.db_instance_identifier if writer is not None else resource.db_cluster_identifier
            return postgresql_log_group("cluster", resource.db_cluster_identifier), stream
        return postgresql_log_group("instance", resource.db_instance_identifier), resource.db_instance_identifier

    def flush_logs(self) -> None:
        for shipper in list(self.shippers.values()):
            shipper.flush()

    def server(self, account: str, cluster_id: str, region: str | None = None) -> PostgresServer:
        return self.servers[self._key(self._cluster(account, cluster_id, region))]

    def instance_server(self, account: str, instance_id: str, region: str | None = None) -> PostgresServer:
        return self.servers[self._key(self._instance(account, instance_id, region))]

    def close(self) -> None:
        for shipper in self.shippers.values():
            shipper.stop()
        # At once: each stop waits on its own server process.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(PostgresServer.stop, self.servers.values()))
        self.shippers.clear()
        self.servers.clear()

    def _backend(self, account: str, region: str | None = None) -> Any:
        return rds_backends[account][region or self.world.region]

    def _cluster(self, account: str, cluster_id: str, region: str | None = None) -> DBCluster:
        return self._backend(account, region).clusters[cluster_id]

    def _instance(self, account: str, instance_id: str, region: str | None = None) -> DBInstance:
        return self._backend(account, region).databases[instance_id]

    def _by_resource_id(self, account: str, rid: str, region: str) -> Database | None:
        backend = self._backend(account, region)
        for resource in (*backend.clusters.values(), *backend.databases.values()):
            if resource_id(resource) == rid:
                return resource  # type: ignore[no-any-return]
        return None

    @staticmethod
    def _key(resource: Database) -> tuple[str, str]:
        return resource.account_id, resource_id(resource)

    def deleted(self, database: Database) -> None:
        key = self._key(database)
        shipper = self.shippers.pop(key, None)
        if shipper is not None:
            shipper.stop()
        server = self.servers.pop(key, None)
        if server is not None:
            server.stop()

    def copied(self, source: Database, copy: Database, parameters: dict[str, str | None]) -> None:
        original = self.servers.get(self._key(source))
        if original is None or self._key(copy) in self.servers:
            return
        self._start(copy, original.databases[0] if original.databases else "postgres", parameters, copy_of=original)

    # ------------------------------------------------------------------ hooks called by the RDS emulation
    def restart(self, cluster: Database, parameters: dict[str, str | None]) -> None:
        server = self.servers.get(self._key(cluster))
        if server is not None:
            server.restart(parameters)

    def exports_changed(self, cluster: Database, log_types: list[str]) -> None:
        shipper = self.shippers.get(self._key(cluster))
        if shipper is not None:
            shipper.set_export(LOG_TYPE in log_types)

    def apply_dynamic(self, cluster: Database, parameters: dict[str, str | None]) -> None:
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
