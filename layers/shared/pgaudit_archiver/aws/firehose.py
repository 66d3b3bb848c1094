"""Firehose calls in the archive account."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from pgaudit_archiver.aws.sessions import CLIENT_CONFIG
from pgaudit_archiver.errors import error_code


class ArchiveFirehose:
    def __init__(self, session: boto3.Session) -> None:
        self._firehose = session.client("firehose", config=CLIENT_CONFIG)

    def describe_stream(self, name: str) -> dict[str, Any] | None:
        try:
            return self._firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise

    def create_stream(self, name: str, destination: dict[str, Any], tags: dict[str, str]) -> str:
        return self._firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration=destination,
            DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"},
            Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
        )["DeliveryStreamARN"]

    def update_destination(self, name: str, version_id: str, destination_id: str, update: dict[str, Any]) -> None:
        self._firehose.update_destination(
            DeliveryStreamName=name,
            CurrentDeliveryStreamVersionId=version_id,
            DestinationId=destination_id,
            ExtendedS3DestinationUpdate=update,
        )
