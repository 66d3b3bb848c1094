"""Deterministic names for what the workflow creates, so a rerun finds what an earlier run made.

Every name of a source is derived from `Source.key`: a DB cluster's identifier (Aurora and Multi-AZ DB clusters share
that namespace), or `instance--<id>` for a DB instance, whose identifiers are another namespace. RDS identifiers
cannot contain two consecutive hyphens (RDS naming constraints), so no cluster's key equals an instance's, and the
names of every Aurora cluster onboarded before DB instances were supported stay what they were. Parameter groups are
the exception: a DB instance's group is a DB parameter group, a namespace of its own apart from DB cluster parameter
groups, and parameter group names cannot contain "--" either.
"""

from __future__ import annotations

import hashlib

from pgaudit_archiver.kinds import DatabaseKind, kind_of
from pgaudit_archiver.models import Source

PREFIX = "pgaudit"
IAM_PATH = "/pgaudit-archiver/"
SUBSCRIPTION_FILTER_NAME = "pgaudit-archiver"
# The Aurora PostgreSQL log export that carries pgaudit lines (EnabledCloudwatchLogsExports).
LOG_TYPE = "postgresql"
# The partition keys the transform returns for each record and the stream's S3 prefix uses.
DATE_PARTITION_KEY = "event_date"
AREA_PARTITION_KEY = "area"  # the prefix's first segment: the archive, or the quarantine of envelopes from elsewhere
ARCHIVE_AREA, QUARANTINE_AREA = "pgaudit", "quarantine"
# Firehose stream names and IAM role names are at most 64 characters.
MAX_NAME_LENGTH = 64
_HASH_LENGTH = 10


def bounded_name(base: str, source: Source, limit: int = MAX_NAME_LENGTH) -> str:
    """`base` when it fits in limit-1 characters, else a prefix of it plus a hash of the whole source.

    Names that fit are shorter than `limit`; shortened names are exactly `limit` long, so the two kinds can
    never be equal, and two shortened names differ unless their sources' hashes collide.
    """
    if len(base) < limit:
        return base
    identity = f"{source.account_id}/{source.region}/{source.key}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{base[: limit - _HASH_LENGTH - 1]}-{digest}"


def delivery_stream_name(source: Source) -> str:
    return bounded_name(f"{PREFIX}-{source.account_id}-{source.key}", source)


def destination_name(source: Source) -> str:
    return bounded_name(f"{PREFIX}-{source.account_id}-{source.key}", source)


def destination_role_name(source: Source) -> str:
    """One role per source account and region, shared by the account's destinations there: one role per source
    would meet IAM's roles quota (1,000 by default, at most 5,000) long before Firehose's streams quota. IAM names
    are global while a destination is regional: the region comes first, so the name starts `pgaudit-dest-<region>-`,
    the prefix the archive stack's policies allow in its own region."""
    return bounded_name(f"{PREFIX}-dest-{source.region}-{source.account_id}", source)


def source_destination_role_name(source: Source) -> str:
    """The role per source that earlier versions created: retired once the source's destination delivers with its
    account's role (steps/destination_role.py retire_source_role)."""
    return bounded_name(f"{PREFIX}-dest-{source.region}-{source.account_id}-{source.key}", source)


def account_resource_prefix(source: Source) -> str:
    """What the names of the account's streams and destinations start with, shortened or not (the account id is 12
    digits, so one account's prefix never matches another's names)."""
    return f"{PREFIX}-{source.account_id}-"


def legacy_destination_role_name(source: Source) -> str:
    """The name the first versions gave the role, without the region: still found, and retired, by this region's
    workflows when its trust is this region's (see steps/destination_role.py retire_legacy_role)."""
    return bounded_name(f"{PREFIX}-dest-{source.account_id}-{source.key}", source)


def parameter_group_name(database_id: str, family: str | None = None) -> str:
    """`pgaudit-<database>`; `pgaudit-<database>-<family>` for a family other than the first one's (after a major
    version upgrade). Identifiers are at most 63 characters and parameter group names up to 255: no shortening. A DB
    cluster's is a DB cluster parameter group, a DB instance's a DB parameter group (separate namespaces)."""
    return f"{PREFIX}-{database_id}" + (f"-{family}" if family else "")


def log_group_name(database_id: str, kind: DatabaseKind = DatabaseKind.AURORA_CLUSTER) -> str:
    """Where RDS exports the postgresql log: /aws/rds/cluster/<id>/postgresql or /aws/rds/instance/<id>/postgresql."""
    return kind_of(kind).log_group_name(database_id)


def source_log_group(source: Source) -> str:
    return log_group_name(source.cluster_id, source.kind)


def log_group_arn(partition: str, source: Source) -> str:
    """The ARN ListTagsForResource takes: without the `:*` that DescribeLogGroups' `arn` ends in."""
    return f"arn:{partition}:logs:{source.region}:{source.account_id}:log-group:{source_log_group(source)}"


def account_tags(source: Source) -> dict[str, str]:
    """The tags of what the account's sources in one region share (the destination role)."""
    return {key: value for key, value in source_tags(source).items() if key != "pgaudit-archiver:source-cluster"}


def source_tags(source: Source) -> dict[str, str]:
    return {
        "pgaudit-archiver:managed": "true",
        "pgaudit-archiver:source-account": source.account_id,
        "pgaudit-archiver:source-region": source.region,
        "pgaudit-archiver:source-cluster": source.key,
    }


def execution_name(source: Source, unique: str) -> str:
    """`<account>-<source key>-<unique>`: Step Functions execution names are at most 80 characters."""
    return f"{source.account_id}-{source.key}"[: 80 - len(unique) - 1] + f"-{unique}"


def console_url(execution_arn: str) -> str:
    """Where the Step Functions console shows an execution."""
    region = execution_arn.split(":")[3]
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"
