"""Record Failure: the Error and Cause the execution fails with, naming the step, the cluster and the AWS error."""

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.events import FailureEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.observability import logger, metrics
from pgaudit_archiver.settings import RegistryStepSettings
from pgaudit_archiver.steps.failure import FailureDescription, describe_failure, record_failure


@workflow_handler(FailureEvent, RegistryStepSettings)
def lambda_handler(failure: FailureEvent, settings: RegistryStepSettings) -> FailureDescription:
    archive = archive_account(settings)
    # The execution history names the failed state even when the Lambda crashed or timed out (None when the
    # history cannot be read: the failure is recorded without it).
    step = archive.stepfunctions.last_entered_state_before(failure.execution_arn, failure.state)
    described = describe_failure(failure.request, failure.failure, step)
    record_failure(archive.registry, failure.request, described)
    logger.error("workflow failed", extra=described.model_dump())
    metrics.add_metric(name="WorkflowFailures", unit="Count", value=1)
    return described
