"""FirehoseTransformFunction: CloudWatch Logs envelopes from a source's stream into parsed archive records."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.handlers import function_handler
from pgaudit_archiver.models import Source
from pgaudit_archiver.observability import logger, metrics
from pgaudit_archiver.settings import TransformSettings
from pgaudit_archiver.steps.canary import record_arrivals
from pgaudit_archiver.steps.liveness import DeliveryClock
from pgaudit_archiver.transform import transform

# Per container: a source's last delivery is written at most once per interval by each container.
delivery_clock = DeliveryClock()


@function_handler(TransformSettings)
def lambda_handler(event: dict[str, Any], context: LambdaContext, settings: TransformSettings) -> dict[str, Any]:
    stream_name = event["deliveryStreamArn"].rsplit("/", 1)[1]
    archive = archive_account(settings)
    firehose = archive.firehose
    canaries: list[dict[str, Any]] = []
    reingest = lambda records: firehose.put_records(stream_name, records)  # noqa: E731
    delivered: set[Source] = set()
    result = transform(event, reingest, settings.audit_only, canaries, check_source=True, delivered=delivered)
    delivery_clock.record(archive.registry, delivered, datetime.now(tz=UTC))
    if canaries:
        for delay in record_arrivals(archive.registry, canaries, datetime.now(tz=UTC)):
            metrics.add_metric(name="CanaryDelaySeconds", unit="Seconds", value=delay)
    counts = {kind: 0 for kind in ("Ok", "Dropped", "ProcessingFailed")}
    for record in result["records"]:
        counts[record["result"]] += 1
    if counts["ProcessingFailed"]:
        logger.warning("records failed to transform", extra=counts)
    metrics.add_metric(name="TransformFailedRecords", unit="Count", value=counts["ProcessingFailed"])
    metrics.add_metric(name="TransformedRecords", unit="Count", value=counts["Ok"])
    return result
