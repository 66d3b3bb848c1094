"""FirehoseTransformFunction: CloudWatch Logs envelopes from a source's stream into parsed archive records."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.aws.sessions import archive_session
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_transform_settings
from pgaudit_archiver.steps.canary import record_arrivals
from pgaudit_archiver.transform import NATIVE_ENCODER, transform

if not NATIVE_ENCODER:  # the LineCodecLayer is missing: still correct, several times slower
    logger.warning("pgaudit_linecodec not found: transforming with the pure-Python reference")


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_transform_settings()
    stream_name = event["deliveryStreamArn"].rsplit("/", 1)[1]
    firehose = ArchiveFirehose(archive_session(settings.region))
    canaries: list[dict[str, Any]] = []
    result = transform(event, lambda records: firehose.put_records(stream_name, records), settings.audit_only, canaries)
    if canaries and settings.registry_table:
        registry = Registry(archive_session(settings.region), settings.registry_table)
        for delay in record_arrivals(registry, canaries, datetime.now(tz=UTC)):
            metrics.add_metric(name="CanaryDelaySeconds", unit="Seconds", value=delay)
    counts = {kind: 0 for kind in ("Ok", "Dropped", "ProcessingFailed")}
    for record in result["records"]:
        counts[record["result"]] += 1
    if counts["ProcessingFailed"]:
        logger.warning("records failed to transform", extra=counts)
    metrics.add_metric(name="TransformFailedRecords", unit="Count", value=counts["ProcessingFailed"])
    metrics.add_metric(name="TransformedRecords", unit="Count", value=counts["Ok"])
    return result
