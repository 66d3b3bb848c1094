"""boto3 sessions for the archive account (the function's own role) and for source accounts (assumed role)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pgaudit_archiver.errors import SourceAccessDeniedError, error_code, from_client_error
from pgaudit_archiver.models import Source
from pgaudit_archiver.settings import SourceAccessSettings

# boto3 retries throttling a few times itself; what survives that is retried by the state machine.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, user_agent_extra="pgaudit-archiver")
ASSUME_ROLE_SECONDS = 900  # the shortest STS allows; a step takes seconds


@cache
def archive_session(region: str) -> boto3.Session:
    return boto3.Session(region_name=region)


def archive_client(service: str, region: str) -> Any:
    return archive_session(region).client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def source_role_arn(settings: SourceAccessSettings, account_id: str) -> str:
    return f"arn:{settings.partition}:iam::{account_id}:role/{settings.source_role_name}"


class ClientMaker(Protocol):
    """What the data-access objects build their clients with: a boto3 Session, or a source account's role."""

    def client(self, service_name: Any, *, config: Config) -> Any: ...


@dataclass(frozen=True)
class AssumedRoleClients:
    """Clients on a source account's role in its region, built by the archive session: a new boto3 Session would
    load the service models again (about 100 ms a source account in a warm container)."""

    archive: boto3.Session
    region: str
    credentials: dict[str, Any] = field(repr=False)  # never in a log line

    def client(self, service_name: Any, *, config: Config) -> Any:
        return self.archive.client(
            service_name,
            region_name=self.region,
            aws_access_key_id=self.credentials["AccessKeyId"],
            aws_secret_access_key=self.credentials["SecretAccessKey"],
            aws_session_token=self.credentials["SessionToken"],
            config=config,
        )


@dataclass(frozen=True)
class AssumedSession:
    """A source account's role; its credentials are good until `expires_at`."""

    session: ClientMaker
    expires_at: datetime


def source_session(settings: SourceAccessSettings, source: Source) -> AssumedSession:
    """Assume the source account's role, with the deployment's ExternalId."""
    role_arn = source_role_arn(settings, source.account_id)
    sts = archive_client("sts", settings.region)  # botocore uses the regional STS endpoint by default
    try:
        credentials = sts.assume_role(
            RoleArn=role_arn,
            # One session per account and region, shared by its clusters (reconciliation checks thousands); the
            # calls made with it name the cluster they act on, which is what CloudTrail shows.
            RoleSessionName=f"pgaudit-archiver-{source.region}",
            ExternalId=settings.external_id,
            DurationSeconds=ASSUME_ROLE_SECONDS,
        )["Credentials"]
    except ClientError as error:
        if error_code(error) == "AccessDenied":
            # STS says why only when the caller's own policy refused; a refusal by the role's trust says nothing.
            detail = error.response.get("Error", {}).get("Message", "")
            raise SourceAccessDeniedError(
                f"cannot assume {role_arn}" + (f": {detail}" if detail else ""),
                aws_error_code="AccessDenied",
                remedy=(
                    f"deploy source-account/template.yaml in account {source.account_id} with this archive "
                    f"account ({settings.archive_account_id}) and the deployment's ExternalId; if it is deployed, "
                    "check that this function's role may sts:AssumeRole it (deploy the current template.yaml)"
                ),
            ) from error
        raise from_client_error(error) from error
    clients = AssumedRoleClients(archive_session(settings.region), source.region, credentials)
    return AssumedSession(clients, credentials["Expiration"])
