"""The source account's PostgreSQL DB clusters (Aurora and Multi-AZ), listed a page at a time (adoption)."""

from __future__ import annotations

import boto3

from pgaudit_archiver.aws.client_errors import guarded
from pgaudit_archiver.aws.rds import cluster_facts
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG
from pgaudit_archiver.kinds import AuroraCluster, MultiAzCluster
from pgaudit_archiver.models import DatabaseFacts

# DescribeDBClusters' engine filter: Aurora PostgreSQL clusters and Multi-AZ DB clusters (engine postgres).
ENGINE_FILTER = {"Name": "engine", "Values": [AuroraCluster.engine, MultiAzCluster.engine]}


class SourceClusterInventory:
    def __init__(self, session: boto3.Session) -> None:
        self._rds = guarded(session.client("rds", config=CLIENT_CONFIG))

    def list_clusters(self, page_size: int, marker: str | None) -> tuple[list[DatabaseFacts], str | None]:
        """One page of DescribeDBClusters (20 to 100 clusters a call), as facts, and the marker of the next, if any."""
        page = self._rds.describe_db_clusters(
            Filters=[ENGINE_FILTER], MaxRecords=page_size, **({"Marker": marker} if marker else {})
        )
        return [cluster_facts(cluster) for cluster in page["DBClusters"]], page.get("Marker")
