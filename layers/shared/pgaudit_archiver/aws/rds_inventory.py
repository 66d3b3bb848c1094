"""The source account's PostgreSQL databases, listed a page at a time (adoption): DB clusters (Aurora and Multi-AZ),
then standalone DB instances."""

from __future__ import annotations

from pgaudit_archiver.aws.client_errors import guarded
from pgaudit_archiver.aws.rds import cluster_facts, instance_facts, standalone_instance_facts
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG, ClientMaker
from pgaudit_archiver.kinds import AuroraCluster, DbInstance, MultiAzCluster
from pgaudit_archiver.models import DatabaseFacts

# DescribeDBClusters' engine filter: Aurora PostgreSQL clusters and Multi-AZ DB clusters (engine postgres).
ENGINE_FILTER = {"Name": "engine", "Values": [AuroraCluster.engine, MultiAzCluster.engine]}
# DescribeDBInstances' engine filter: RDS for PostgreSQL DB instances. A Multi-AZ DB cluster's instances have engine
# postgres too: they carry DBClusterIdentifier, and are the cluster's (as are an Aurora cluster's).
INSTANCE_ENGINE_FILTER = {"Name": "engine", "Values": [DbInstance.engine]}


class SourceClusterInventory:
    def __init__(self, session: ClientMaker) -> None:
        self._rds = guarded(session.client("rds", config=CLIENT_CONFIG))

    def list_clusters(self, page_size: int, marker: str | None) -> tuple[list[DatabaseFacts], str | None]:
        """One page of DescribeDBClusters (20 to 100 clusters a call), as facts, and the marker of the next, if any."""
        page = self._rds.describe_db_clusters(
            Filters=[ENGINE_FILTER], MaxRecords=page_size, **({"Marker": marker} if marker else {})
        )
        return [cluster_facts(cluster) for cluster in page["DBClusters"]], page.get("Marker")

    def list_instances(self, page_size: int, marker: str | None) -> tuple[list[DatabaseFacts], str | None]:
        """One page of DescribeDBInstances (20 to 100 instances a call): the standalone ones, as facts (a page may
        hold fewer than it read, or none, and still have a next), and the marker of the next, if any."""
        page = self._rds.describe_db_instances(
            Filters=[INSTANCE_ENGINE_FILTER], MaxRecords=page_size, **({"Marker": marker} if marker else {})
        )
        instances = [instance_facts(instance) for instance in page["DBInstances"]]
        standalone = [standalone_instance_facts(instance) for instance in instances if not instance.cluster_id]
        return standalone, page.get("Marker")
