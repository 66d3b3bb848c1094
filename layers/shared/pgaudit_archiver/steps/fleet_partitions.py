"""Register Fleet Partitions: the fleet table's partition for each source and day that has an archived object.

The archive's layout, pgaudit/account=/region=/cluster=/date=/, puts the date last, so no partition projection can
serve a query that names no source (docs/querying.md). Each object S3 reports created names its partition; adding
it is idempotent (an existing one is left as it is), so the first object of a day creates it and the others, or a
repeated event, change nothing. Objects outside pgaudit/ (quarantine/, errors/) are no records and get none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote_plus

from pgaudit_archiver.naming import ARCHIVE_AREA

ARCHIVE_KEY = re.compile(
    rf"^{ARCHIVE_AREA}/account=(?P<account>\d{{12}})/region=(?P<region>[a-z0-9-]+)/"
    r"cluster=(?P<cluster>[^/]+)/date=(?P<event_date>\d{4}-\d{2}-\d{2})/[^/]+$"
)


class FleetPartition(NamedTuple):
    account: str
    region: str
    cluster: str
    event_date: str

    def location(self, bucket: str) -> str:
        return (
            f"s3://{bucket}/{ARCHIVE_AREA}/account={self.account}/region={self.region}/"
            f"cluster={self.cluster}/date={self.event_date}/"
        )


class PartitionCatalog(Protocol):
    def add_partitions(self, partitions: Iterable[tuple[list[str], str]]) -> tuple[int, int]: ...


def partition_of(key: str) -> FleetPartition | None:
    """The partition an archive object belongs to; None for a key outside the archive's layout."""
    match = ARCHIVE_KEY.match(key)
    return FleetPartition(**match.groupdict()) if match else None


def created_objects(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, key) of each object an S3 event notification reports created. "The s3 key provided in the event
    notification is URL encoded" (S3 user guide, event message structure)."""
    return [
        (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
        for record in event.get("Records", [])
        if str(record.get("eventName", "")).startswith("ObjectCreated:")
    ]


def register_partitions(catalog: PartitionCatalog, objects: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Add the partition of every archive object once; report how many were new, already there, and not records."""
    wanted: dict[tuple[str, FleetPartition], None] = {}
    outside = 0
    for bucket, key in objects:
        partition = partition_of(key)
        if partition is None:
            outside += 1
        else:
            wanted[(bucket, partition)] = None
    created, existing = catalog.add_partitions(
        (list(partition), partition.location(bucket)) for bucket, partition in wanted
    )
    return {"created": created, "existing": existing, "outside_archive": outside}
