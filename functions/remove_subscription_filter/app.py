"""Remove Subscription Filter: our filter leaves the log group; every other filter stays."""

from pgaudit_archiver.aws.accounts import source_account
from pgaudit_archiver.events import OffboardStepEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import StepResult
from pgaudit_archiver.settings import SourceStepSettings
from pgaudit_archiver.steps.offboard import remove_subscription_filter


@workflow_handler(OffboardStepEvent, SourceStepSettings)
def lambda_handler(step: OffboardStepEvent, settings: SourceStepSettings) -> StepResult:
    source = step.request.source
    return remove_subscription_filter(source_account(settings, source).logs, settings, source)
