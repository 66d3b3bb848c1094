"""The database user pgaudit-archiver works as: a secret its owner provides, never the cluster's master user secret.

The owner creates a least-privilege database user (docs/deploy.md, step 4) and stores it in Secrets Manager,
in the cluster's account and region, tagged `pgaudit-archiver:database-user=true` (the only secrets the source role
may read) and `pgaudit-archiver:cluster=<cluster id>` (which cluster it is for); or names it in the request's
`secret_arn`. Without one, Create Extension reports the SQL to run and the canary is not sent.
"""

from __future__ import annotations

from pgaudit_archiver.aws.secrets import SourceSecrets
from pgaudit_archiver.errors import AwsRequestError
from pgaudit_archiver.models import DatabaseUserSecret, Source

PURPOSE_TAG = "pgaudit-archiver:database-user"
CLUSTER_TAG = "pgaudit-archiver:cluster"
MASTER_SECRET_PREFIX = "rds!"  # RDS names the master user secrets it manages rds!cluster-<uuid> (rds!db-<uuid>)


def is_master_secret(arn: str) -> bool:
    return arn.split(":secret:", 1)[-1].startswith(MASTER_SECRET_PREFIX)


def find_database_user_secret(secrets: SourceSecrets, source: Source, requested: str | None) -> DatabaseUserSecret:
    """The request's secret_arn, else the one secret tagged for the cluster; else why there is none."""
    if requested:
        if is_master_secret(requested):
            return DatabaseUserSecret(
                reason=f"secret_arn {requested} is a master user secret RDS manages, which pgaudit-archiver never "
                "reads: create the database user of docs/deploy.md (step 4) and name its secret (or tag it)"
            )
        return DatabaseUserSecret(arn=requested, found_by="request")
    try:
        entries = secrets.tagged(CLUSTER_TAG, source.cluster_id)
    except AwsRequestError as error:  # a source role deployed before ListSecrets was granted
        return DatabaseUserSecret(
            reason=f"the source role may not list secrets ({error.aws_error_code}): deploy the current "
            "source-account template"
        )
    usable = [
        entry
        for entry in entries
        if entry.tags.get(PURPOSE_TAG) == "true" and not entry.owning_service and not is_master_secret(entry.arn)
    ]
    tags = f"{CLUSTER_TAG}={source.cluster_id} and {PURPOSE_TAG}=true"
    if not usable:
        return DatabaseUserSecret(
            reason=f"no secret in account {source.account_id} ({source.region}) is tagged {tags}, and the request "
            "names no secret_arn",
            untagged=True,
        )
    if len(usable) > 1:
        arns = ", ".join(sorted(entry.arn for entry in usable))
        return DatabaseUserSecret(
            reason=f"{len(usable)} secrets are tagged {tags} ({arns}): keep the tags on one, or name it as secret_arn"
        )
    return DatabaseUserSecret(arn=usable[0].arn, found_by="tag")
