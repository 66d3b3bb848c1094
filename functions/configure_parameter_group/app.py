"""Configure Parameter Group: pgaudit preloaded and pgaudit.log set, in a parameter group of the cluster's own."""

from pgaudit_archiver.aws.accounts import source_account
from pgaudit_archiver.events import ParameterGroupEvent
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import ParameterGroupResult
from pgaudit_archiver.settings import SourceStepSettings
from pgaudit_archiver.steps.parameter_group import configure_parameter_group


@workflow_handler(ParameterGroupEvent, SourceStepSettings)
def lambda_handler(step: ParameterGroupEvent, settings: SourceStepSettings) -> ParameterGroupResult:
    rds = source_account(settings, step.request.source).rds
    return configure_parameter_group(rds, step.request, step.cluster)
