"""Create Extension: CREATE EXTENSION pgaudit through the Data API as the owner's database user, or the SQL to run."""

from pgaudit_archiver.aws.accounts import source_account
from pgaudit_archiver.events import ExtensionEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import ExtensionResult
from pgaudit_archiver.settings import SourceStepSettings
from pgaudit_archiver.steps.extension import ensure_extension


@workflow_handler(ExtensionEvent, SourceStepSettings)
def lambda_handler(step: ExtensionEvent, settings: SourceStepSettings) -> ExtensionResult:
    account = source_account(settings, step.request.source)
    return ensure_extension(account.rds_data, account.secrets, step.request, step.cluster, step.pending_reboot)
