"""The three kinds of PostgreSQL database on RDS, and everything that differs between them, in one place.

Each kind is one small class of facts; the data-access layer (aws/rds.py) picks its API calls from them and the steps
ask them instead of testing the kind. What differs, each from the RDS API reference or user guides:

|                         | Aurora PostgreSQL cluster   | Multi-AZ DB cluster          | DB instance                   |
|-------------------------|-----------------------------|------------------------------|-------------------------------|
| described by            | DescribeDBClusters          | DescribeDBClusters           | DescribeDBInstances           |
| engine                  | aurora-postgresql           | postgres                     | postgres                      |
| identity                | DbClusterResourceId         | DbClusterResourceId          | DbiResourceId                 |
| pgaudit settings in     | DB cluster parameter group  | DB cluster parameter group   | DB parameter group            |
| family                  | aurora-postgresql16         | postgres16                   | postgres16                    |
| log export              | ModifyDBCluster             | ModifyDBCluster              | ModifyDBInstance              |
| reboot                  | RebootDBInstance per member | RebootDBCluster              | RebootDBInstance              |
| log group               | /aws/rds/cluster/<id>/...   | /aws/rds/cluster/<id>/...    | /aws/rds/instance/<id>/...    |
| RDS Data API            | yes                         | no (Aurora only)             | no (Aurora only)              |

RebootDBCluster: "Use this operation only for a non-Aurora Multi-AZ DB cluster" (RDS API reference); "When you
associate a new DB cluster parameter group with a running Multi-AZ DB cluster, reboot the DB cluster"
(CreateDBClusterParameterGroup). CloudwatchLogsExportConfiguration of ModifyDBInstance: "RDS for PostgreSQL -
postgresql | upgrade" and "always applied to the DB instance immediately".

DB cluster identifiers (Aurora and Multi-AZ alike) share one namespace; DB instance identifiers are another. Names the
archive derives from a database use `Source.key` (models.py, naming.py): `instance--<id>` for a DB instance, which
no cluster identifier can equal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal


class DatabaseKind(StrEnum):
    AURORA_CLUSTER = "aurora-cluster"
    MULTI_AZ_CLUSTER = "multi-az-cluster"
    DB_INSTANCE = "db-instance"


# Which RDS API family holds the database's settings: *DBClusterParameterGroup* or *DBParameterGroup*.
GroupScope = Literal["cluster", "instance"]
# How a changed static parameter takes effect.
RebootMode = Literal["each-member", "whole-cluster", "instance"]


class Kind:
    kind: ClassVar[DatabaseKind]
    engine: ClassVar[str]
    is_cluster: ClassVar[bool]  # DescribeDBClusters / ModifyDBCluster, else DescribeDBInstances / ModifyDBInstance
    group_scope: ClassVar[GroupScope]
    reboot: ClassVar[RebootMode]
    data_api: ClassVar[bool]
    noun: ClassVar[str]  # as users read it in messages

    @classmethod
    def short_noun(cls) -> str:
        """ "cluster" or "DB instance": what a message about one database calls it."""
        return "cluster" if cls.is_cluster else "DB instance"

    @classmethod
    def log_group_name(cls, identifier: str) -> str:
        return f"/aws/rds/{'cluster' if cls.is_cluster else 'instance'}/{identifier}/postgresql"

    @classmethod
    def family(cls, engine_version: str) -> str:
        """The parameter group family of an engine version: one per major version (aurora-postgresql16, postgres16)."""
        return f"{cls.engine}{engine_version.split('.', maxsplit=1)[0]}"


class AuroraCluster(Kind):
    kind = DatabaseKind.AURORA_CLUSTER
    engine = "aurora-postgresql"
    is_cluster = True
    group_scope = "cluster"
    reboot = "each-member"
    data_api = True
    noun = "Aurora PostgreSQL cluster"


class MultiAzCluster(Kind):
    kind = DatabaseKind.MULTI_AZ_CLUSTER
    engine = "postgres"
    is_cluster = True
    group_scope = "cluster"
    reboot = "whole-cluster"
    data_api = False
    noun = "Multi-AZ DB cluster"


class DbInstance(Kind):
    kind = DatabaseKind.DB_INSTANCE
    engine = "postgres"
    is_cluster = False
    group_scope = "instance"
    reboot = "instance"
    data_api = False
    noun = "DB instance"


KINDS: dict[DatabaseKind, type[Kind]] = {k.kind: k for k in (AuroraCluster, MultiAzCluster, DbInstance)}


def kind_of(kind: DatabaseKind) -> type[Kind]:
    return KINDS[DatabaseKind(kind)]


def cluster_kind_for_engine(engine: str | None) -> type[Kind] | None:
    """Which kind of DB cluster DescribeDBClusters describes, by its engine (None: not PostgreSQL)."""
    return next((k for k in (AuroraCluster, MultiAzCluster) if k.engine == engine), None)
