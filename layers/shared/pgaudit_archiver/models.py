"""The onboarding request and what each workflow step hands to the next."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from pgaudit_archiver.kinds import DatabaseKind, kind_of
from pgaudit_archiver.status import SourceStatus

PGAUDIT_CLASSES = ("none", "all", "ddl", "function", "misc", "misc_set", "read", "role", "write")
# PutRetentionPolicy accepts only these values (CloudWatch Logs API reference, PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
# Identifiers are ASCII only: [0-9], never \d (which takes Arabic-Indic or fullwidth digits).
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
# A DB cluster identifier: 1-63 letters, digits or hyphens, starting with a letter, no "--", no trailing "-".
CLUSTER_ID_PATTERN = r"^[a-zA-Z][a-zA-Z0-9-]{0,62}$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]$"
SECRET_ARN_PATTERN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$"
DATABASE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$"
SECRET_ARN_MAX_LENGTH = 2048


def _identifier(kind: str, pattern: str, value: str) -> str:
    # Checked again in Python (fullmatch, ASCII): pydantic's pattern is the documented rule, this one holds even
    # if the regex engine changes (Python's `$` would let a trailing newline through).
    if not value.isascii() or re.fullmatch(pattern, value, re.ASCII) is None:
        raise ValueError(f"{value!r} is not a valid {kind}")
    return value


def valid_account_id(value: str) -> str:
    return _identifier("12-digit AWS account id", ACCOUNT_ID_PATTERN, value)


def valid_region(value: str) -> str:
    return _identifier("AWS region", REGION_PATTERN, value)


def valid_cluster_id(value: str) -> str:
    _identifier("DB cluster identifier", CLUSTER_ID_PATTERN, value)
    if "--" in value or value.endswith("-"):
        raise ValueError("a DB cluster identifier cannot contain '--' or end with '-'")
    return value.lower()  # RDS stores identifiers in lowercase


def valid_instance_id(value: str) -> str:
    # DB instance identifiers follow the DB cluster identifiers' rule (RDS naming constraints).
    _identifier("DB instance identifier", CLUSTER_ID_PATTERN, value)
    if "--" in value or value.endswith("-"):
        raise ValueError("a DB instance identifier cannot contain '--' or end with '-'")
    return value.lower()


def valid_database_name(value: str) -> str:
    return _identifier("PostgreSQL database name", DATABASE_NAME_PATTERN, value)


def valid_secret_arn(value: str) -> str:
    return _identifier("Secrets Manager secret ARN", SECRET_ARN_PATTERN, value)


# One type per identifier, used wherever it arrives: request bodies, path and query parameters.
AccountId = Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN), AfterValidator(valid_account_id)]
Region = Annotated[str, StringConstraints(pattern=REGION_PATTERN), AfterValidator(valid_region)]
ClusterId = Annotated[str, StringConstraints(pattern=CLUSTER_ID_PATTERN), AfterValidator(valid_cluster_id)]
InstanceId = Annotated[str, StringConstraints(pattern=CLUSTER_ID_PATTERN), AfterValidator(valid_instance_id)]
DatabaseName = Annotated[str, StringConstraints(pattern=DATABASE_NAME_PATTERN), AfterValidator(valid_database_name)]
SecretArn = Annotated[
    str,
    StringConstraints(pattern=SECRET_ARN_PATTERN, max_length=SECRET_ARN_MAX_LENGTH),
    AfterValidator(valid_secret_arn),
]

RebootPolicy = Literal["deferred", "immediate"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StrictModel(Model):
    """What a caller sends: no coercion ("30" is not 30, "yes" is not true); JSON's own types pass."""

    model_config = ConfigDict(strict=True)


class OnboardOptions(StrictModel):
    """What a user asks for, whichever kind of database. Options left out take the deployment's defaults."""

    account_id: AccountId = Field(description="12-digit id of the source AWS account")
    region: Region = Field(description="region of the database; must be this stack's region")
    pgaudit_log: str | None = Field(default=None, description="pgaudit.log classes, e.g. ddl,role,write")
    reboot: RebootPolicy | None = Field(default=None, description="deferred (default) or immediate")
    log_retention_days: int | None = Field(default=None, description="retention of the postgresql log group")
    filter_pattern: str | None = Field(default=None, min_length=1, max_length=1024)
    secret_arn: SecretArn | None = Field(
        default=None, description="secret for the Data API, in the cluster's account and region"
    )
    database: DatabaseName | None = Field(default=None, description="database for pgaudit")
    # Left out, not null, means the deployment's default: a null is refused like any other non-boolean.
    canary: Annotated[bool | None, WithJsonSchema({"type": "boolean"})] = Field(
        default=None,
        description="reconciliation runs a marked SELECT through the Data API and times its arrival; left out: the "
        "deployment's DefaultCanary",
    )
    revoke_plpgsql: bool = Field(
        default=False,
        description="revoke USAGE on plpgsql from PUBLIC, so that no database user can RAISE a forged AUDIT line",
    )

    # The request's namespace: a DB instance (instance_id), or a DB cluster of either kind (cluster_id).
    namespace_kind: ClassVar[DatabaseKind]

    @property
    def database_id(self) -> str:
        return str(getattr(self, "instance_id" if self.namespace_kind == DatabaseKind.DB_INSTANCE else "cluster_id"))

    @property
    def source(self) -> Source:
        return Source(
            account_id=self.account_id, region=self.region, cluster_id=self.database_id, kind=self.namespace_kind
        )

    @field_validator("pgaudit_log")
    @classmethod
    def _valid_pgaudit_log(cls, value: str | None) -> str | None:
        return None if value is None else normalize_pgaudit_log(value)

    @field_validator("canary", mode="before")
    @classmethod
    def _canary_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("canary must be true or false; leave it out for the deployment's DefaultCanary")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _valid_retention(cls, value: int | None) -> int | None:
        if value is not None and value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(str(days) for days in LOG_RETENTION_DAYS)
            raise ValueError(f"{value} is not a CloudWatch Logs retention; use one of {allowed}")
        return value

    @field_validator("filter_pattern")
    @classmethod
    def _valid_filter_pattern(cls, value: str | None) -> str | None:
        if value is not None and any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
            raise ValueError("a filter pattern cannot contain control characters")
        return value

    @field_validator("secret_arn")
    @classmethod
    def _secret_of_the_cluster(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The Data API reads the secret with the source account's role, in the cluster's region: a secret
        # elsewhere is someone else's (or cannot work).
        if value is None:
            return value
        region, account = value.split(":")[3:5]
        cluster_account, cluster_region = info.data.get("account_id"), info.data.get("region")
        if cluster_account and account != cluster_account:
            raise ValueError(f"the secret is in account {account}, not in the cluster's account {cluster_account}")
        if cluster_region and region != cluster_region:
            raise ValueError(f"the secret is in region {region}, not in the cluster's region {cluster_region}")
        return value


def normalize_pgaudit_log(value: str) -> str:
    """Validate a pgaudit.log value against pgaudit's classes; a class may be excluded with a leading '-'."""
    classes = [item.strip().lower() for item in value.split(",")]
    if not value.strip() or any(not item for item in classes):
        raise ValueError("pgaudit_log must be a comma-separated list of classes, e.g. ddl,role,write")
    unknown = [item for item in classes if item.removeprefix("-") not in PGAUDIT_CLASSES]
    if unknown:
        raise ValueError(f"unknown pgaudit class {', '.join(unknown)}; use {', '.join(PGAUDIT_CLASSES)}")
    return ",".join(classes)


class OnboardRequest(OnboardOptions):
    """Onboard a DB cluster: Aurora PostgreSQL or a Multi-AZ DB cluster (which one is read from the cluster)."""

    namespace_kind: ClassVar[DatabaseKind] = DatabaseKind.AURORA_CLUSTER  # until validation reads the cluster's engine
    cluster_id: ClusterId = Field(description="DB cluster identifier (Aurora PostgreSQL or Multi-AZ DB cluster)")


class InstanceOnboardRequest(OnboardOptions):
    """Onboard an RDS for PostgreSQL DB instance (not a member of a DB cluster)."""

    namespace_kind: ClassVar[DatabaseKind] = DatabaseKind.DB_INSTANCE
    instance_id: InstanceId = Field(description="DB instance identifier")


def names_a_db_instance(raw: Any) -> bool:
    """Whether a workflow's request names a DB instance (by instance_id) rather than a DB cluster of either kind (by
    cluster_id): how Validate Request and Validate Offboarding pick the request model."""
    return isinstance(raw, dict) and "instance_id" in raw


def onboard_input(
    source: Source, options: Mapping[str, Any], leave_out: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The onboarding workflow's input for `source` (cluster_id, or instance_id for a DB instance), with the options
    of `options` (a recorded request, say) an onboarding request takes, except `leave_out` and nulls."""
    kept = set(OnboardOptions.model_fields) - leave_out
    field = "cluster_id" if kind_of(source.kind).is_cluster else "instance_id"
    return {
        **{key: value for key, value in options.items() if key in kept and value is not None},
        "account_id": source.account_id,
        "region": source.region,
        field: source.cluster_id,
    }


class _OffboardFields(StrictModel):
    account_id: AccountId = Field(description="12-digit id of the source AWS account")
    region: Region = Field(description="region of the database; must be this stack's region")
    restore: bool = Field(default=False, description="also disable the export and re-attach the original group")


class OffboardRequest(_OffboardFields):
    """Stop archiving a cluster's audit logs; archived objects always stay."""

    cluster_id: ClusterId = Field(description="DB cluster identifier")

    @property
    def source(self) -> Source:
        return Source(account_id=self.account_id, region=self.region, cluster_id=self.cluster_id.lower())


class InstanceOffboardRequest(_OffboardFields):
    """Stop archiving a DB instance's audit logs; archived objects always stay."""

    instance_id: InstanceId = Field(description="DB instance identifier")

    @property
    def source(self) -> Source:
        return Source(
            account_id=self.account_id, region=self.region, cluster_id=self.instance_id, kind=DatabaseKind.DB_INSTANCE
        )


AnyOffboardRequest = OffboardRequest | InstanceOffboardRequest


# A source key that no DB cluster identifier can equal: RDS identifiers never contain "--" (RDS naming constraints).
INSTANCE_KEY_PREFIX = "instance--"


class Source(Model):
    """One source of audit logs: a database in an account and region.

    `cluster_id` is the database's identifier, a DB instance's too: the field keeps its name so that every payload and
    registry item written before DB instances were supported still reads as it was (an Aurora cluster). `key` is what
    names and registry keys are derived from (naming.py): the cluster identifier itself for either kind of DB cluster
    (one namespace), `instance--<id>` for a DB instance (another namespace)."""

    account_id: str
    region: str
    cluster_id: str
    kind: DatabaseKind = DatabaseKind.AURORA_CLUSTER

    @property
    def database_id(self) -> str:
        return self.cluster_id

    @property
    def key(self) -> str:
        return self.cluster_id if kind_of(self.kind).is_cluster else f"{INSTANCE_KEY_PREFIX}{self.cluster_id}"

    @classmethod
    def from_key(cls, account_id: str, region: str, key: str, cluster_kind: DatabaseKind | None = None) -> Source:
        """The source a `key` names; a cluster key does not say its kind (Aurora or Multi-AZ): `cluster_kind`."""
        if key.startswith(INSTANCE_KEY_PREFIX):
            return cls(
                account_id=account_id, region=region, cluster_id=key.removeprefix(INSTANCE_KEY_PREFIX),
                kind=DatabaseKind.DB_INSTANCE,
            )  # fmt: skip
        return cls(
            account_id=account_id, region=region, cluster_id=key, kind=cluster_kind or DatabaseKind.AURORA_CLUSTER
        )

    def same_database(self, other: Source) -> bool:
        return (self.account_id, self.region, self.key) == (other.account_id, other.region, other.key)

    def __str__(self) -> str:
        noun = "DB instance" if self.kind is DatabaseKind.DB_INSTANCE else "cluster"
        return f"{noun} {self.cluster_id} in account {self.account_id} ({self.region})"


class ResolvedRequest(Model):
    """The request with every option decided; what the rest of the workflow works from. `cluster_id` is the
    database's identifier (see Source)."""

    account_id: str
    region: str
    cluster_id: str
    kind: DatabaseKind = DatabaseKind.AURORA_CLUSTER
    pgaudit_log: str
    reboot: RebootPolicy
    log_retention_days: int
    filter_pattern: str
    secret_arn: str | None = None
    database: str | None = None
    canary: bool = False
    revoke_plpgsql: bool = False

    @property
    def source(self) -> Source:
        return Source(account_id=self.account_id, region=self.region, cluster_id=self.cluster_id, kind=self.kind)


class WorkflowSettings(Model):
    poll_interval_seconds: int
    max_polls: int


class DatabaseMember(Model):
    """A DB instance of the database (a DB instance is its own only member), and whether the parameter group that
    holds the pgaudit settings is applied on it (in-sync, pending-reboot, applying)."""

    instance_id: str
    is_writer: bool
    parameter_group_status: str


class DatabaseFacts(Model):
    """What the data-access layer reads of a database (aws/rds.py), whichever kind it is; the steps never read a raw
    describe dictionary. `parameter_group` is where the pgaudit settings live: the DB cluster parameter group of
    either kind of cluster, the DB parameter group of a DB instance."""

    arn: str
    status: str
    ready: bool
    engine_version: str
    parameter_group: str
    http_endpoint_enabled: bool
    master_secret_arn: str | None
    database_name: str | None
    members: tuple[DatabaseMember, ...]
    polls: int = 0
    kind: DatabaseKind = DatabaseKind.AURORA_CLUSTER
    identifier: str = ""
    resource_id: str = ""  # DbClusterResourceId or DbiResourceId: stays the same across renames
    engine: str = "aurora-postgresql"
    exported_log_types: tuple[str, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def family(self) -> str:
        return kind_of(self.kind).family(self.engine_version)


# The names the workflows' payloads and earlier code know them by.
ClusterMember = DatabaseMember
ClusterFacts = DatabaseFacts


class ValidationResult(Model):
    request: ResolvedRequest
    cluster: ClusterFacts
    workflow: WorkflowSettings


class StepResult(Model):
    """What one ensure step found and did: `changes` is empty when nothing needed doing."""

    ready: bool = True
    resources: dict[str, str] = Field(default_factory=dict)
    changes: tuple[str, ...] = ()
    polls: int = 0


class RoleResult(StepResult):
    fresh: bool = False  # created or changed in this run, so IAM may not have propagated it yet


class ParameterGroupResult(StepResult):
    parameter_group: str
    original_parameter_group: str
    original_shared_preload_libraries: str | None = None
    original_pgaudit_log: str | None = None
    reboot_required: bool = False
    pending_reboot: tuple[str, ...] = ()


class RebootResult(StepResult):
    rebooted: tuple[str, ...] = ()
    pending_reboot: tuple[str, ...] = ()


class DatabaseUserSecret(Model):
    """The secret of the database user the Data API runs as (the owner's, never the master user's), or why none."""

    arn: str | None = None
    found_by: Literal["request", "tag"] | None = None  # the request's secret_arn, or the owner's tags
    reason: str | None = None  # why there is none
    untagged: bool = False  # none because no secret carries the database's tags (a renamed database's keep the old)


class ExtensionResult(StepResult):
    status: Literal["created", "present", "manual"]
    database: str
    sql: str = "CREATE EXTENSION IF NOT EXISTS pgaudit;"
    reason: str | None = None
    plpgsql_kept_by_public: tuple[str, ...] = ()  # databases where revoke_plpgsql did not take
    secret_arn: str | None = None  # the database user's secret it ran with
    secret_found_by: Literal["request", "tag"] | None = None
    secret_untagged: bool = False  # manual because no secret is tagged for the database (DatabaseUserSecret.untagged)
    # How the product verifies the extension: through the Data API, or (a kind without it) by the audit records
    # that reach the archive.
    verification: str | None = None

    def record(self) -> dict[str, str | None]:
        """What the registry keeps (`extension`): reconciliation checks the extension with this secret."""
        return {
            "status": self.status,
            "database": self.database,
            "sql": self.sql if self.status == "manual" else None,
            "reason": self.reason,
            "secret_arn": self.secret_arn,
            **({"verification": self.verification} if self.verification else {}),
        }


class OnboardingSummary(Model):
    source: Source
    status: Literal[SourceStatus.ACTIVE, SourceStatus.PENDING_REBOOT]
    resources: dict[str, str]
    changes: tuple[str, ...]
    pending: tuple[str, ...]
    actions_required: tuple[str, ...]
    extension: dict[str, str | None] = Field(default_factory=dict)  # ExtensionResult.record()


DriftKind = Literal[
    "subscription-filter-missing",
    "subscription-filter-destination",
    "subscription-filter-pattern",
    "cluster-missing",
    "log-export-off",
    "pgaudit-not-preloaded",
    "pgaudit-not-loaded",
    "pgaudit-log",
    "instance-pgaudit-not-preloaded",
    "instance-pgaudit-log",
    "destination-missing",
    "destination-policy",
    "destination-role",
    "destination-role-missing",
    "destination-role-trust",
    "delivery-stream-missing",
    "delivery-stream-status",
    "delivery-stream-settings",
    "canary-late",
    "silent",
    "extension-missing",
    "pgaudit-override",
    "audit-policy",
    "consent-withdrawn",
    "unverifiable",
    "green-pgaudit-not-preloaded",
    "green-pgaudit-not-loaded",
]


class Drift(Model):
    """One way a source's pipeline differs from what onboarding made: which kind, on which resource, what it
    should be and what it is (None where there is no value to show). `message` is what the registry shows."""

    kind: DriftKind
    resource: str
    expected: str | None = None
    actual: str | None = None

    @property
    def message(self) -> str:
        resource, expected, actual = self.resource, self.expected, self.actual
        messages: dict[DriftKind, str] = {
            "subscription-filter-missing": f"subscription filter {expected} is missing from {resource}",
            "subscription-filter-destination": f"the subscription filter on {resource} points at {actual}, "
            f"not {expected}",
            "subscription-filter-pattern": f"subscription filter pattern on {resource} is {actual!r}, not {expected!r}",
            "cluster-missing": f"cluster {resource} no longer exists",
            "log-export-off": f"the {expected} log export is off",
            "pgaudit-not-preloaded": f"{expected} is not in shared_preload_libraries of {resource}",
            "pgaudit-not-loaded": f"pgaudit is not loaded until the instances reboot ({actual})",
            "pgaudit-log": f"pgaudit.log in {resource} is {actual!r}, not {expected!r}",
            # resource: "DB parameter group <group> of instance <instance>"; its values beat the cluster group's
            "instance-pgaudit-not-preloaded": f"{resource} overrides shared_preload_libraries without {expected} "
            f"({actual!r})",
            "instance-pgaudit-log": f"{resource} overrides pgaudit.log with {actual!r}, not {expected!r}",
            "destination-missing": f"destination {resource} is missing",
            "destination-policy": f"the access policy of destination {resource} was changed",
            "destination-role": f"destination {resource} delivers with role {actual}, not {expected}",
            "destination-role-missing": f"destination role {resource} is missing",
            "destination-role-trust": f"destination role {resource} trusts {actual}, not {expected} for the source "
            "only",
            "delivery-stream-missing": f"delivery stream {resource} is missing",
            "delivery-stream-status": f"delivery stream {resource} is {actual}",
            "delivery-stream-settings": f"delivery stream {resource} changed: {actual}",
            "canary-late": f"canary {resource} has not reached the archive after {actual}",
            # resource: the cluster; actual: when it last delivered, and whether a canary could tell idle from silent
            "silent": f"no audit record from {resource} reached the archive within {expected}: {actual}",
            "extension-missing": f"the pgaudit extension is missing from database {resource}",
            # resource: "database X", "role Y" or "role Y in database X"; expected: the SQL the owner runs
            "pgaudit-override": f"{resource} overrides pgaudit.log with {actual!r} outside any parameter group; "
            f"the owner runs: {expected}",
            # resource: the request field; the recorded request is below the minimum with no admin's exception
            "audit-policy": f"the recorded {resource} {actual!r} is below the minimum audit policy and no admin "
            f"granted an exception: held to {expected!r}",
            # the owner took back a mark (consent.py): the source role may no longer repair, nor the archive ask it to
            "consent-withdrawn": f"the owner withdrew consent from {resource}: {actual}; nothing is repaired",
            "unverifiable": f"cannot verify: {actual}",
            # resource: a blue/green deployment's green; actual: its group and deployment; expected: the fix
            "green-pgaudit-not-preloaded": f"the green {resource} does not preload pgaudit ({actual}): before the "
            f"switchover give it {expected}, or its audit stops at the switchover until a repair and a reboot",
            # resource: the green; expected: the owner's reboot command; actual: its group, members, deployment
            "green-pgaudit-not-loaded": f"the green {resource} loads pgaudit only after a reboot ({actual}): reboot "
            f"it before the switchover: {expected}",
        }
        return messages[self.kind]


class InstanceFacts(Model):
    """A DB instance as DescribeDBInstances describes it: standalone, or a member of a DB cluster (`cluster_id`)."""

    identifier: str
    resource_id: str
    arn: str
    engine: str
    engine_version: str
    status: str
    cluster_id: str | None
    parameter_groups: tuple[tuple[str, str], ...]  # (DB parameter group, ParameterApplyStatus)
    exported_log_types: tuple[str, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    master_secret_arn: str | None = None
    database_name: str | None = None
