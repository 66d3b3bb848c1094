"""Record Failure: the Error and Cause the execution fails with, naming the step, the cluster and the AWS error."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from pgaudit_archiver.aws.accounts import ArchiveAccount
from pgaudit_archiver.events import FailureEvent
from pgaudit_archiver.observability import logger, metrics, tracer
from pgaudit_archiver.settings import load_settings
from pgaudit_archiver.steps.failure import describe_failure, record_failure


@logger.inject_lambda_context(correlation_id_path="request.cluster_id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings()
    failure = FailureEvent.model_validate(event)
    archive = ArchiveAccount(settings)
    # The execution history names the failed state even when the Lambda crashed or timed out; our own errors
    # name it too, so a refused history lookup must not keep the failure from being recorded.
    try:
        step = archive.stepfunctions.last_entered_state_before(failure.execution_arn, failure.state_name)
    except ClientError as error:
        logger.warning("execution history unavailable", extra={"error": str(error)})
        step = None
    described = describe_failure(failure.request, failure.failure, step)
    record_failure(archive.registry, failure.request, described)
    logger.error("workflow failed", extra=described.model_dump())
    metrics.add_metric(name="WorkflowFailures", unit="Count", value=1)
    return described.model_dump(mode="json")
