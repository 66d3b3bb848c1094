"""FirehoseTransformFunction: CloudWatch Logs envelopes from a source's stream into parsed archive records."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.sessions import archive_session
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_transform_settings
from pgaudit_archiver.transform import transform


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_transform_settings()
    stream_name = event["deliveryStreamArn"].rsplit("/", 1)[1]
    firehose = ArchiveFirehose(archive_session(settings.region))
    result = transform(event, lambda records: firehose.put_records(stream_name, records), settings.audit_only)
    counts = {kind: 0 for kind in ("Ok", "Dropped", "ProcessingFailed")}
    for record in result["records"]:
        counts[record["result"]] += 1
    if counts["ProcessingFailed"]:
        logger.warning("records failed to transform", extra=counts)
    metrics.add_metric(name="TransformFailedRecords", unit="Count", value=counts["ProcessingFailed"])
    metrics.add_metric(name="TransformedRecords", unit="Count", value=counts["Ok"])
    return result
