"""Deployment settings: each function's own model, read from its Lambda environment (set by template.yaml).

Every field is required: a function deployed without one of its variables fails at its first invocation with a
ConfigurationError naming the variable, not later at an AWS call. The models are built from small groups of fields,
one group per concern (the source role, the registry, the delivery stream, ...), so a step's logic can ask for the
group it reads and every function whose model includes that group can call it.

`get_settings(Model)` reads the environment when the handler runs and validates it once per container; the cache is
keyed on the values the model reads, so a process that runs functions under several environments (the local
emulation, tests) never gets the settings of another.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from pgaudit_archiver.audit_policy import ROLE_NAME_PATTERN, AuditPolicy, missing_classes
from pgaudit_archiver.errors import ConfigurationError
from pgaudit_archiver.models import LOG_RETENTION_DAYS, RebootPolicy, normalize_pgaudit_log


class FunctionSettings(BaseModel):
    """What a function reads from its environment (nothing, for this base); variables it does not read are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


# ---------------------------------------------------------------------------------------------------- field groups
class RegionSettings(FunctionSettings):
    region: str = Field(alias="AWS_REGION", min_length=1)  # set by the Lambda service in every function

    @property
    def partition(self) -> str:
        return partition_of(self.region)


class ArchiveAccountSettings(RegionSettings):
    archive_account_id: str = Field(alias="ARCHIVE_ACCOUNT_ID", pattern=r"^\d{12}$")


class SourceAccessSettings(ArchiveAccountSettings):
    """What assuming a source account's role takes."""

    source_role_name: str = Field(alias="SOURCE_ROLE_NAME", min_length=1)
    external_id: str = Field(alias="EXTERNAL_ID", min_length=2)


class RegistrySettings(RegionSettings):
    registry_table: str = Field(alias="REGISTRY_TABLE", min_length=1)


class PollLimitSettings(FunctionSettings):
    max_polls: int = Field(alias="MAX_POLLS", ge=1, le=1000)


class PollingSettings(PollLimitSettings):
    poll_interval_seconds: int = Field(alias="POLL_INTERVAL_SECONDS", ge=0, le=3600)


class RequestDefaultsSettings(RegionSettings):
    """The deployment's defaults for the options an onboarding request leaves out."""

    default_pgaudit_log: str = Field(alias="DEFAULT_PGAUDIT_LOG")
    default_reboot: RebootPolicy = Field(alias="DEFAULT_REBOOT")
    default_log_retention_days: int = Field(alias="DEFAULT_LOG_RETENTION_DAYS")
    default_filter_pattern: str = Field(alias="DEFAULT_FILTER_PATTERN", min_length=1, max_length=1024)
    default_canary: bool = Field(alias="DEFAULT_CANARY")

    @field_validator("default_pgaudit_log")
    @classmethod
    def _pgaudit_log(cls, value: str) -> str:
        normalize_pgaudit_log(value)  # raises ValueError naming the unknown class
        return value

    @field_validator("default_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"{value} is not a CloudWatch Logs retention")
        return value


class AuditPolicySettings(RequestDefaultsSettings):
    """The archive's minimum audit policy (audit_policy.py). The defaults must meet it: automatic onboarding and
    requests that leave the options out use them."""

    minimum_pgaudit_log: str = Field(alias="MINIMUM_PGAUDIT_LOG")  # empty: DEFAULT_PGAUDIT_LOG
    allowed_filter_patterns: str = Field(alias="ALLOWED_FILTER_PATTERNS")  # comma-separated, beside the default

    @field_validator("minimum_pgaudit_log")
    @classmethod
    def _minimum(cls, value: str, info: ValidationInfo) -> str:
        default = info.data.get("default_pgaudit_log")
        if value.strip() and default:  # an invalid default is named by its own validator
            lacking = missing_classes(default, value)  # raises ValueError naming an unknown class
            if lacking:
                raise ValueError(f"DEFAULT_PGAUDIT_LOG {default!r} does not audit {lacking}; the defaults must meet "
                                 "the minimum")  # fmt: skip
        return value.strip()

    @field_validator("allowed_filter_patterns")
    @classmethod
    def _patterns(cls, value: str) -> str:
        for pattern in _items(value):
            if len(pattern) > 1024 or any(ord(char) < 0x20 or ord(char) == 0x7F for char in pattern):
                raise ValueError(f"{pattern[:50]!r} is not a CloudWatch Logs filter pattern")
        return value

    def audit_policy(self, reducer_role_names: tuple[str, ...] = ()) -> AuditPolicy:
        return AuditPolicy(
            minimum_pgaudit_log=self.minimum_pgaudit_log or self.default_pgaudit_log,
            allowed_filter_patterns=tuple(
                dict.fromkeys((self.default_filter_pattern, *_items(self.allowed_filter_patterns)))
            ),
            default_pgaudit_log=self.default_pgaudit_log,
            default_filter_pattern=self.default_filter_pattern,
            default_reboot=self.default_reboot,
            reducer_role_names=reducer_role_names,
        )


def _items(value: str) -> list[str]:
    """A comma-separated variable's items (CloudFormation's Join of a CommaDelimitedList), blanks left out."""
    return [item.strip() for item in value.split(",") if item.strip()]


class FirehoseBudgetSettings(RegionSettings):
    """The Firehose control-plane rate this function may take of the 5 per second every caller shares."""

    rate_budget_table: str = Field(alias="RATE_BUDGET_TABLE", min_length=1)
    firehose_calls_per_second: int = Field(alias="FIREHOSE_CALLS_PER_SECOND", ge=1, le=4)  # quarter-second windows


class DeliveryStreamSettings(FirehoseBudgetSettings):
    """What a source's Firehose stream is built from."""

    archive_bucket: str = Field(alias="ARCHIVE_BUCKET", min_length=3)
    firehose_role_arn: str = Field(alias="FIREHOSE_ROLE_ARN", pattern=r"^arn:")
    transform_function_arn: str = Field(alias="TRANSFORM_FUNCTION_ARN", pattern=r"^arn:")


class DestinationRoleSettings(ArchiveAccountSettings):
    destination_role_boundary_arn: str = Field(alias="DESTINATION_ROLE_BOUNDARY_ARN", pattern=r"^arn:")


class OnboardingStarterSettings(RegistrySettings):
    """What starting the onboarding workflow takes (the registry claims the source first)."""

    onboard_state_machine_arn: str = Field(alias="ONBOARD_STATE_MACHINE_ARN", pattern=r"^arn:")


class AccountLimitSettings(RegionSettings):
    """How many executions one source account may start a minute (aws/account_limits.py)."""

    rate_budget_table: str = Field(alias="RATE_BUDGET_TABLE", min_length=1)
    account_executions_per_minute: int = Field(alias="ACCOUNT_EXECUTIONS_PER_MINUTE", ge=1, le=1000)


class RoleHoldersSettings(RegionSettings):
    """Who uses each account's shared destination role (aws/role_holders.py): items of the rate budget table."""

    rate_budget_table: str = Field(alias="RATE_BUDGET_TABLE", min_length=1)


class IdempotencySettings(FunctionSettings):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)


# ---------------------------------------------------------------------------------------------------- per function
class ValidateRequestSettings(SourceAccessSettings, RequestDefaultsSettings, PollingSettings):
    pass


class EnsureDeliveryStreamSettings(DeliveryStreamSettings, PollLimitSettings):
    firehose_streams_quota: int = Field(alias="FIREHOSE_STREAMS_QUOTA", ge=1)


class EnsureDestinationRoleSettings(DestinationRoleSettings, RoleHoldersSettings):
    pass


class EnsureDestinationSettings(ArchiveAccountSettings):
    pass


class SourceStepSettings(SourceAccessSettings):
    """Configure Parameter Group, Create Extension, Ensure and Remove Subscription Filter."""


class SourcePollingStepSettings(SourceAccessSettings, PollLimitSettings):
    """Reboot Instances, Enable Log Export, Restore Cluster: steps that poll a source's cluster."""


class RegistryStepSettings(RegistrySettings):
    """Register Execution, Summarize Onboarding and Offboarding, Record Failure, List Sources."""


class ReconcilePlanSettings(RegistrySettings):
    """Plan Run: the run's parallel scan segments (the Map's concurrency; an inline Map runs at most 40 at once)."""

    reconcile_segments: int = Field(alias="RECONCILE_SEGMENTS", ge=1, le=40)


class ArchiveStepSettings(RegionSettings):
    """Delete Destination: archive-account resources named after the source."""


class DeleteDestinationSettings(ArchiveAccountSettings, RoleHoldersSettings):
    """Delete Destination: the destination, and the account's destination role when no source holds it any more."""


class DeleteDeliveryStreamSettings(ArchiveStepSettings, FirehoseBudgetSettings):
    pass


class ValidateOffboardingSettings(RegistrySettings, PollingSettings):
    flush_wait_seconds: int = Field(alias="FLUSH_WAIT_SECONDS", ge=0, le=3600)


class VerifySourceSettings(
    SourceAccessSettings, OnboardingStarterSettings, DeliveryStreamSettings, AuditPolicySettings
):
    auto_repair: bool = Field(alias="AUTO_REPAIR")
    canary_bound_seconds: int = Field(alias="CANARY_BOUND_SECONDS", ge=60)
    silent_after_minutes: int = Field(alias="SILENT_AFTER_MINUTES", ge=0)  # 0: no `silent` drift
    # A deleted database's source is offboarded (stream, destination, filter) this long after it was found deleted.
    deleted_source_grace_days: int = Field(default=30, alias="DELETED_SOURCE_GRACE_DAYS", ge=0)
    # Offboarding a deleted source, or the old name of a renamed one; empty: they are reported only.
    offboard_state_machine_arn: str = Field(default="", alias="OFFBOARD_STATE_MACHINE_ARN", pattern=r"^$|^arn:")


class FleetPartitionSettings(RegionSettings):
    """Register Fleet Partitions: the Glue table whose partitions it adds. The bucket comes with each S3 event (its
    name in the environment would make the bucket's notification and the function depend on each other)."""

    glue_database: str = Field(alias="GLUE_DATABASE", min_length=1)
    fleet_table: str = Field(alias="FLEET_TABLE", min_length=1)


class ScheduledDiscoverySettings(RegistrySettings):
    adopt_state_machine_arn: str = Field(alias="ADOPT_STATE_MACHINE_ARN", pattern=r"^arn:")
    allowed_account_ids: str = Field(alias="ALLOWED_ACCOUNT_IDS", pattern=r"^$|^\d{12}(,\d{12})*$")


class DiscoverClustersSettings(SourceAccessSettings, RegistrySettings):
    auto_onboard: Literal["all", "tagged", "off"] = Field(alias="AUTO_ONBOARD")
    adoption_concurrency: int = Field(alias="ADOPTION_CONCURRENCY", ge=1, le=40)


class ClaimClusterSettings(OnboardingStarterSettings, AccountLimitSettings):
    pass


class OrganizationAdoptionSettings(AccountLimitSettings):
    """List Accounts, Start Account Adoption and Record Account Adoption (the organization adoption)."""

    adopt_state_machine_arn: str = Field(alias="ADOPT_STATE_MACHINE_ARN", pattern=r"^arn:")


class HandleClusterEventSettings(SourceAccessSettings, OnboardingStarterSettings, IdempotencySettings):
    auto_onboard: Literal["all", "tagged", "off"] = Field(alias="AUTO_ONBOARD")


class ApiSettings(
    SourceAccessSettings, OnboardingStarterSettings, AccountLimitSettings, AuditPolicySettings, IdempotencySettings
):
    page_token_key_table: str = Field(alias="PAGE_TOKEN_KEY_TABLE", min_length=1)  # readable by the API only
    offboard_state_machine_arn: str = Field(alias="OFFBOARD_STATE_MACHINE_ARN", pattern=r"^arn:")
    reconcile_state_machine_arn: str = Field(alias="RECONCILE_STATE_MACHINE_ARN", pattern=r"^arn:")
    adopt_state_machine_arn: str = Field(alias="ADOPT_STATE_MACHINE_ARN", pattern=r"^arn:")
    organization_adopt_state_machine_arn: str = Field(alias="ORGANIZATION_ADOPT_STATE_MACHINE_ARN", pattern=r"^arn:")
    admin_principal_arns: str = Field(alias="ADMIN_PRINCIPAL_ARNS")  # comma-separated; empty when none
    audit_reducer_role_names: str = Field(alias="AUDIT_REDUCER_ROLE_NAMES")  # comma-separated; empty when none

    @field_validator("audit_reducer_role_names")
    @classmethod
    def _role_names(cls, value: str) -> str:
        for pattern in _items(value):
            if not ROLE_NAME_PATTERN.fullmatch(pattern):
                raise ValueError(f"{pattern[:70]!r} is not an IAM role name (letters, digits, _+=.@- and * only)")
        return value

    @property
    def audit_reducers(self) -> tuple[str, ...]:
        return tuple(_items(self.audit_reducer_role_names))


class TransformSettings(RegistrySettings):
    """What the Firehose transform function reads (the registry records canary arrivals)."""

    audit_only: bool = Field(alias="AUDIT_ONLY")


# ---------------------------------------------------------------------------------------------------- loading
SettingsT = TypeVar("SettingsT", bound=FunctionSettings)


def get_settings(model: type[SettingsT]) -> SettingsT:
    """The function's settings from its environment now, validated once per distinct environment."""
    values = tuple((name, os.environ.get(name)) for name in variables_of(model))
    return cast(SettingsT, _validated(model, values))


@functools.cache
def variables_of(model: type[FunctionSettings]) -> tuple[str, ...]:
    """The environment variables the model reads."""
    return tuple(field.alias or name for name, field in model.model_fields.items())


@functools.lru_cache(maxsize=64)
def _validated(model: type[FunctionSettings], values: tuple[tuple[str, str | None], ...]) -> FunctionSettings:
    try:
        return model.model_validate({name: value for name, value in values if value is not None})
    except ValidationError as error:
        problems = "; ".join(_problem(item) for item in error.errors())
        raise ConfigurationError(
            f"the function's environment is invalid: {problems}",
            remedy="deploy the current template.yaml (it sets every variable a function reads), or fix the value",
        ) from None


def _problem(item: Any) -> str:
    name = ".".join(str(part) for part in item.get("loc", ())) or "environment"
    if item.get("type") == "missing":
        return f"{name} is not set"
    message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{name}={item.get('input')!r} is invalid ({message})"


def clear_settings_cache() -> None:
    _validated.cache_clear()


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# ---------------------------------------------------------------------------------------------------- the whole stack
class Settings(
    ValidateRequestSettings,
    VerifySourceSettings,
    ReconcilePlanSettings,
    DiscoverClustersSettings,
    ScheduledDiscoverySettings,
    OrganizationAdoptionSettings,
    ValidateOffboardingSettings,
    DestinationRoleSettings,
    HandleClusterEventSettings,
    ApiSettings,
    TransformSettings,
    FleetPartitionSettings,
):
    """Every variable of the stack together: for tools and tests that stand in for several functions at once.

    A handler never loads this model; it loads its own (above), in which nothing has a default.
    """


def settings_of(environ: dict[str, str]) -> Settings:
    """The whole stack's settings from `environ`, every variable required (tools fill the template's defaults in
    first: local/template.py `load_settings`; the layer does not ship template.yaml)."""
    return cast(Settings, _validated(Settings, tuple((name, environ.get(name)) for name in variables_of(Settings))))
