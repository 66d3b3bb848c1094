"""Ensure Delivery Stream: one Firehose stream per source, writing into the archive bucket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.errors import AwsRequestError, ResourceConflictError, WaitTimeoutError
from pgaudit_archiver.models import Source, StepResult
from pgaudit_archiver.naming import (
    ARCHIVE_AREA,
    AREA_PARTITION_KEY,
    DATE_PARTITION_KEY,
    delivery_stream_name,
    source_tags,
)
from pgaudit_archiver.settings import DeliveryStreamSettings, EnsureDeliveryStreamSettings

# Dynamic partitioning needs a buffer of at least 64 MB (Firehose developer guide, dynamic partitioning).
BUFFER_SIZE_MB = 64
BUFFER_INTERVAL_SECONDS = 300
# Envelopes of pgaudit lines grow about 20x once decompressed, parsed and encoded: 0.2 MB in (0.2-3 MB
# allowed) keeps a response near 4-5 MB, under Lambda's 6 MB, so re-ingestion stays the exception.
TRANSFORM_BUFFER_MB = "0.2"
TRANSFORM_INTERVAL_SECONDS = "60"


def source_path(source: Source) -> str:
    return f"account={source.account_id}/region={source.region}/cluster={source.key}/"


def archive_prefix(source: Source) -> str:
    return f"{ARCHIVE_AREA}/" + source_path(source)


def error_prefix(source: Source) -> str:
    return f"errors/account={source.account_id}/region={source.region}/cluster={source.key}/"


def desired_destination(settings: DeliveryStreamSettings, source: Source) -> dict[str, Any]:
    return {
        "RoleARN": settings.firehose_role_arn,
        "BucketARN": f"arn:{settings.partition}:s3:::{settings.archive_bucket}",
        # The transform sends an envelope from another log group than the source's to quarantine/, not pgaudit/.
        "Prefix": f"!{{partitionKeyFromLambda:{AREA_PARTITION_KEY}}}/"
        + source_path(source)
        + f"date=!{{partitionKeyFromLambda:{DATE_PARTITION_KEY}}}/",
        # With dynamic partitioning the error prefix must name the error output type.
        "ErrorOutputPrefix": error_prefix(source) + "!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/",
        "BufferingHints": {"SizeInMBs": BUFFER_SIZE_MB, "IntervalInSeconds": BUFFER_INTERVAL_SECONDS},
        "CompressionFormat": "GZIP",
        "FileExtension": ".gz",
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [
                {
                    "Type": "Lambda",
                    "Parameters": [
                        {"ParameterName": "LambdaArn", "ParameterValue": settings.transform_function_arn},
                        {"ParameterName": "BufferSizeInMBs", "ParameterValue": TRANSFORM_BUFFER_MB},
                        {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": TRANSFORM_INTERVAL_SECONDS},
                    ],
                }
            ],
        },
        "DynamicPartitioningConfiguration": {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}},
    }


def _processor_parameters(processing: dict[str, Any]) -> dict[str, str]:
    processors = processing.get("Processors") or [{}]
    return {item["ParameterName"]: item["ParameterValue"] for item in processors[0].get("Parameters", [])}


def destination_drift(current: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """Names of the settings that differ; AWS may add defaults of its own, which are not drift."""
    drift = [
        key
        for key in ("RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "CompressionFormat", "FileExtension")
        if current.get(key) != desired[key]
    ]
    if current.get("BufferingHints") != desired["BufferingHints"]:
        drift.append("BufferingHints")
    current_processing = current.get("ProcessingConfiguration") or {}
    desired_parameters = _processor_parameters(desired["ProcessingConfiguration"])
    current_parameters = _processor_parameters(current_processing)
    if not current_processing.get("Enabled") or any(
        current_parameters.get(name) != value for name, value in desired_parameters.items()
    ):
        drift.append("ProcessingConfiguration")
    return drift


def ensure_delivery_stream(
    firehose: ArchiveFirehose,
    settings: EnsureDeliveryStreamSettings,
    source: Source,
    polls: int,
    check_quotas: Callable[[], None] = lambda: None,
) -> StepResult:
    """`check_quotas` runs before the stream is created: the first thing onboarding creates."""
    name = delivery_stream_name(source)
    desired = desired_destination(settings, source)
    stream = firehose.describe_stream(name)
    if stream is None:
        check_quotas()
        arn = firehose.create_stream(name, desired, source_tags(source))
        return StepResult(ready=False, resources={"delivery_stream_arn": arn}, changes=(f"created {name}",), polls=1)

    arn = stream["DeliveryStreamARN"]
    status = stream["DeliveryStreamStatus"]
    if status == "CREATING_FAILED":
        reason = (stream.get("FailureDescription") or {}).get("Details", "no details given")
        raise AwsRequestError(
            f"delivery stream {name} failed to create: {reason}",
            remedy=f"delete {name} in the archive account, then onboard again",
        )
    if status in {"DELETING", "DELETING_FAILED"}:
        raise ResourceConflictError(
            f"delivery stream {name} is {status}", remedy="wait for the deletion to end, then onboard again"
        )
    if status != "ACTIVE":
        if polls + 1 > settings.max_polls:
            raise WaitTimeoutError(f"delivery stream {name} stayed {status} for {settings.max_polls} polls")
        return StepResult(ready=False, resources={"delivery_stream_arn": arn}, polls=polls + 1)

    destination = stream["Destinations"][0]
    drift = destination_drift(destination.get("ExtendedS3DestinationDescription", {}), desired)
    changes: tuple[str, ...] = ()
    if drift:
        update = {key: value for key, value in desired.items() if key != "DynamicPartitioningConfiguration"}
        firehose.update_destination(name, stream["VersionId"], destination["DestinationId"], update)
        changes = (f"updated {name}: {', '.join(drift)}",)
    return StepResult(ready=True, resources={"delivery_stream_arn": arn}, changes=changes, polls=polls)
