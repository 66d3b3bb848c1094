"""RDS Data API calls in the source account."""

from __future__ import annotations

from typing import Any

from pgaudit_archiver.aws.client_errors import guarded
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG, ClientMaker


class SourceRdsData:
    def __init__(self, session: ClientMaker) -> None:
        self._rds_data = guarded(session.client("rds-data", config=CLIENT_CONFIG))

    def execute(self, cluster_arn: str, secret_arn: str, database: str, sql: str) -> list[Any]:
        """Run one statement; returns its rows (empty for statements that return none). A refused statement
        raises AwsRequestError naming the Data API's error code; throttling and a resuming database raise
        transient errors."""
        response = self._rds_data.execute_statement(
            resourceArn=cluster_arn, secretArn=secret_arn, database=database, sql=sql
        )
        records: list[Any] = response.get("records", [])
        return records
