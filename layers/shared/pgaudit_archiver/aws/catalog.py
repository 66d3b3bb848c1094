"""The Glue Data Catalog's fleet table in the archive account: its partitions, one per source and day."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from typing import Any

from pgaudit_archiver.aws.client_errors import guarded
from pgaudit_archiver.aws.sessions import archive_client
from pgaudit_archiver.errors import AwsRequestError, AwsServiceUnavailableError, ThrottledError
from pgaudit_archiver.settings import FleetPartitionSettings

# "The number of partitions to create in one request, at most 100" (Glue API, BatchCreatePartition).
PARTITIONS_PER_CALL = 100
# BatchCreatePartition answers 200 and lists each partition it could not create with an error code.
ALREADY_EXISTS = "AlreadyExistsException"
RETRYABLE_ENTRY_CODES = frozenset(
    {"ThrottlingException", "InternalServiceException", "ConcurrentModificationException"}
)


class FleetCatalog:
    def __init__(self, glue: Any, database: str, table: str) -> None:
        self._glue = guarded(glue)
        self.database = database
        self.table = table

    @functools.cached_property
    def _storage(self) -> dict[str, Any]:
        """The table's storage descriptor (SerDe, formats, columns), which each partition repeats with its own
        location: Athena reads a partition with the partition's SerDe."""
        table = self._glue.get_table(DatabaseName=self.database, Name=self.table)["Table"]
        storage: dict[str, Any] = table["StorageDescriptor"]
        return storage

    def add_partitions(self, partitions: Iterable[tuple[list[str], str]]) -> tuple[int, int]:
        """Create each (values, location) partition; returns (created, already there). Any other refusal raises."""
        items = list(partitions)
        created = existing = 0
        for start in range(0, len(items), PARTITIONS_PER_CALL):
            batch = items[start : start + PARTITIONS_PER_CALL]
            inputs = []
            for values, location in batch:
                storage = copy.deepcopy(self._storage)
                storage["Location"] = location
                inputs.append({"Values": values, "StorageDescriptor": storage})
            answer = self._glue.batch_create_partition(
                DatabaseName=self.database, TableName=self.table, PartitionInputList=inputs
            )
            errors = answer.get("Errors", [])
            refused = [e for e in errors if e.get("ErrorDetail", {}).get("ErrorCode") != ALREADY_EXISTS]
            existing += len(errors) - len(refused)
            created += len(batch) - len(errors)
            if refused:
                detail = refused[0].get("ErrorDetail", {})
                code = str(detail.get("ErrorCode", "unknown"))
                message = (
                    f"BatchCreatePartition refused {len(refused)} partition(s) of {self.database}.{self.table}, "
                    f"first {refused[0].get('PartitionValues')}: {detail.get('ErrorMessage', '')}"
                )
                if code in RETRYABLE_ENTRY_CODES:
                    transient = ThrottledError if code == "ThrottlingException" else AwsServiceUnavailableError
                    raise transient(message, aws_error_code=code, remedy="none; Lambda retries the S3 event")
                raise AwsRequestError(
                    message, aws_error_code=code, remedy="check the function's Glue permissions and the table's keys"
                )
        return created, existing


@functools.lru_cache(maxsize=4)
def fleet_catalog(settings: FleetPartitionSettings) -> FleetCatalog:
    """One client and one read of the table per container."""
    return FleetCatalog(archive_client("glue", settings.region), settings.glue_database, settings.fleet_table)
