"""Deployment settings, read from the Lambda environment (set by template.yaml) when a handler runs."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pgaudit_archiver.errors import ConfigurationError
from pgaudit_archiver.models import LOG_RETENTION_DAYS, RebootPolicy, normalize_pgaudit_log


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    region: str = Field(alias="AWS_REGION")
    archive_account_id: str = Field(alias="ARCHIVE_ACCOUNT_ID", pattern=r"^\d{12}$")
    source_role_name: str = Field(alias="SOURCE_ROLE_NAME", default="pgaudit-archiver-source")
    external_id: str = Field(alias="EXTERNAL_ID", min_length=2)
    archive_bucket: str = Field(alias="ARCHIVE_BUCKET", default="")
    firehose_role_arn: str = Field(alias="FIREHOSE_ROLE_ARN", default="")
    transform_function_arn: str = Field(alias="TRANSFORM_FUNCTION_ARN", default="")
    destination_role_boundary_arn: str = Field(alias="DESTINATION_ROLE_BOUNDARY_ARN", default="")
    registry_table: str = Field(alias="REGISTRY_TABLE", default="")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", default="")
    onboard_state_machine_arn: str = Field(alias="ONBOARD_STATE_MACHINE_ARN", default="")
    offboard_state_machine_arn: str = Field(alias="OFFBOARD_STATE_MACHINE_ARN", default="")
    admin_principal_arns: str = Field(alias="ADMIN_PRINCIPAL_ARNS", default="")
    auto_onboard: Literal["all", "tagged", "off"] = Field(alias="AUTO_ONBOARD", default="tagged")
    auto_repair: bool = Field(alias="AUTO_REPAIR", default=True)
    canary_bound_seconds: int = Field(alias="CANARY_BOUND_SECONDS", default=1800, ge=60)
    reconcile_state_machine_arn: str = Field(alias="RECONCILE_STATE_MACHINE_ARN", default="")
    default_pgaudit_log: str = Field(alias="DEFAULT_PGAUDIT_LOG", default="ddl,role,write")
    default_reboot: RebootPolicy = Field(alias="DEFAULT_REBOOT", default="deferred")
    default_log_retention_days: int = Field(alias="DEFAULT_LOG_RETENTION_DAYS", default=30)
    default_filter_pattern: str = Field(alias="DEFAULT_FILTER_PATTERN", default='"AUDIT:"')
    poll_interval_seconds: int = Field(alias="POLL_INTERVAL_SECONDS", default=30, ge=0, le=3600)
    max_polls: int = Field(alias="MAX_POLLS", default=60, ge=1, le=1000)
    flush_wait_seconds: int = Field(alias="FLUSH_WAIT_SECONDS", default=600, ge=0, le=3600)

    @property
    def partition(self) -> str:
        return partition_of(self.region)


class TransformSettings(BaseModel):
    """What the Firehose transform function reads from its environment."""

    model_config = ConfigDict(frozen=True)

    region: str = Field(alias="AWS_REGION")
    audit_only: bool = Field(alias="AUDIT_ONLY", default=False)
    registry_table: str = Field(alias="REGISTRY_TABLE", default="")


def load_transform_settings() -> TransformSettings:
    return TransformSettings.model_validate(dict(os.environ))


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(environ)
        normalize_pgaudit_log(settings.default_pgaudit_log)
    except (ValidationError, ValueError) as error:
        raise ConfigurationError(
            f"the function environment is invalid: {error}", remedy="redeploy the stack"
        ) from error
    if settings.default_log_retention_days not in LOG_RETENTION_DAYS:
        raise ConfigurationError(
            f"DEFAULT_LOG_RETENTION_DAYS={settings.default_log_retention_days} is not a CloudWatch Logs retention",
            remedy="redeploy with an allowed DefaultLogRetentionDays",
        )
    return settings
