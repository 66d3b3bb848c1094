"""The source account's Aurora PostgreSQL clusters, listed a page at a time (adoption)."""

from __future__ import annotations

from typing import Any

import boto3

from pgaudit_archiver.aws.client_errors import guarded
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG

ENGINE_FILTER = {"Name": "engine", "Values": ["aurora-postgresql"]}


class SourceClusterInventory:
    def __init__(self, session: boto3.Session) -> None:
        self._rds = guarded(session.client("rds", config=CLIENT_CONFIG))

    def list_clusters(self, page_size: int, marker: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of DescribeDBClusters (20 to 100 clusters a call), and the marker of the next, if any."""
        page = self._rds.describe_db_clusters(
            Filters=[ENGINE_FILTER], MaxRecords=page_size, **({"Marker": marker} if marker else {})
        )
        clusters: list[dict[str, Any]] = page["DBClusters"]
        return clusters, page.get("Marker")
