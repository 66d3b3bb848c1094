"""Firehose calls in the archive account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG
from pgaudit_archiver.errors import ThrottledError

# PutRecordBatch takes at most 500 records and 4 MiB per call (Firehose API reference).
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
PUT_ATTEMPTS = 3


class ArchiveFirehose:
    """`take_slot` runs before each control-plane call (5 per second per account and region, shared by every
    caller; aws/rate_budget.py); the data plane (PutRecordBatch) has limits of its own per stream."""

    def __init__(self, session: boto3.Session, take_slot: Callable[[], None] = lambda: None) -> None:
        self._firehose = guarded(session.client("firehose", config=CLIENT_CONFIG))
        self._take_slot = take_slot

    def describe_stream(self, name: str) -> dict[str, Any] | None:
        self._take_slot()
        with refused("ResourceNotFoundException"):
            description: dict[str, Any] = self._firehose.describe_delivery_stream(DeliveryStreamName=name)[
                "DeliveryStreamDescription"
            ]
            return description
        return None

    def count_streams(self) -> int:
        """Every stream in the account and region (ListDeliveryStreams, up to 10,000 names a call)."""
        count, last = 0, None
        while True:
            self._take_slot()
            page = self._firehose.list_delivery_streams(
                Limit=10_000, **({"ExclusiveStartDeliveryStreamName": last} if last else {})
            )
            names = page["DeliveryStreamNames"]
            count += len(names)
            if not page.get("HasMoreDeliveryStreams") or not names:
                return count
            last = names[-1]

    def create_stream(self, name: str, destination: dict[str, Any], tags: dict[str, str]) -> str:
        self._take_slot()
        arn: str = self._firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration=destination,
            DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"},
            Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
        )["DeliveryStreamARN"]
        return arn

    def delete_stream(self, name: str) -> bool:
        """False when there was no such stream (deleted meanwhile)."""
        self._take_slot()
        with refused("ResourceNotFoundException"):
            self._firehose.delete_delivery_stream(DeliveryStreamName=name, AllowForceDelete=False)
            return True
        return False

    def put_records(self, name: str, records: list[bytes]) -> None:
        """PutRecordBatch in calls of at most 500 records and 4 MiB, retrying the records Firehose refused."""
        batches: list[list[bytes]] = [[]]
        size = 0
        for record in records:
            if len(batches[-1]) == MAX_BATCH_RECORDS or size + len(record) > MAX_BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(record)
            size += len(record)
        for batch in batches:
            remaining = batch
            for _ in range(PUT_ATTEMPTS):
                if not remaining:
                    break
                answer = self._firehose.put_record_batch(
                    DeliveryStreamName=name, Records=[{"Data": record} for record in remaining]
                )
                remaining = [
                    r for r, a in zip(remaining, answer["RequestResponses"], strict=True) if a.get("ErrorCode")
                ]
            if remaining:
                raise ThrottledError(f"Firehose refused {len(remaining)} re-ingested records to {name}")

    def update_destination(self, name: str, version_id: str, destination_id: str, update: dict[str, Any]) -> None:
        self._take_slot()
        self._firehose.update_destination(
            DeliveryStreamName=name,
            CurrentDeliveryStreamVersionId=version_id,
            DestinationId=destination_id,
            ExtendedS3DestinationUpdate=update,
        )
