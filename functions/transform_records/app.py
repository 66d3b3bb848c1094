"""FirehoseTransformFunction: CloudWatch Logs envelopes from a source's stream into archive records."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.transform import transform


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = transform(event)
    failed = sum(1 for record in result["records"] if record["result"] == "ProcessingFailed")
    if failed:
        logger.warning("records failed to transform", extra={"failed": failed, "total": len(result["records"])})
    metrics.add_metric(name="TransformFailedRecords", unit="Count", value=failed)
    return result
