"""The owner's consent: the one mark that gives the archive power over a database and its postgresql log group.

The source role may change a cluster, reboot an instance, run SQL through the Data API, or touch a log group's
retention and subscription filters only where the owner tagged the resource `pgaudit-archiver=enabled`
(source-account/template.yaml). The role can add no tag with that key, under any spelling, and can remove no tag,
so it can neither grant itself consent nor restore consent an owner took back. IAM cannot look at a cluster's tags
when it authorizes a call on a log group, so the log group carries the mark too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pgaudit_archiver.models import DatabaseFacts, Source
from pgaudit_archiver.naming import source_log_group

CONSENT_TAG_KEY = "pgaudit-archiver"
CONSENT_TAG_VALUE = "enabled"
OPT_OUT_TAG_VALUE = "disabled"


def consented(tags: Mapping[str, str] | None) -> bool:
    return tags is not None and tags.get(CONSENT_TAG_KEY) == CONSENT_TAG_VALUE


def tags_of(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    """RDS's TagList as a dict."""
    return {tag["Key"]: tag["Value"] for tag in tag_list or []}


@dataclass(frozen=True)
class Consent:
    """Which of the two marks a database has; `log_group_tags` is None when the log group does not exist."""

    database_arn: str
    database_tags: Mapping[str, str]
    log_group: str
    log_group_region: str
    log_group_tags: Mapping[str, str] | None

    @property
    def database(self) -> bool:
        return consented(self.database_tags)

    @property
    def log_group_marked(self) -> bool:
        return consented(self.log_group_tags)

    @property
    def complete(self) -> bool:
        return self.database and self.log_group_marked

    def missing(self) -> list[str]:
        missing = []
        if not self.database:
            missing.append(f"the database {self.database_arn} is not tagged {CONSENT_TAG_KEY}={CONSENT_TAG_VALUE}")
        if self.log_group_tags is None:
            missing.append(f"its log group {self.log_group} does not exist")
        elif not self.log_group_marked:
            missing.append(f"its log group {self.log_group} is not tagged {CONSENT_TAG_KEY}={CONSENT_TAG_VALUE}")
        return missing

    def grant_commands(self) -> list[str]:
        """The owner's commands (run in the source account) that grant what is missing."""
        commands = []
        if not self.database:
            commands.append(
                f"aws rds add-tags-to-resource --resource-name {self.database_arn} "
                f"--tags Key={CONSENT_TAG_KEY},Value={CONSENT_TAG_VALUE}"
            )
        if self.log_group_tags is None:
            commands.append(
                f"aws logs create-log-group --region {self.log_group_region} --log-group-name {self.log_group} "
                f"--tags {CONSENT_TAG_KEY}={CONSENT_TAG_VALUE}"
            )
        elif not self.log_group_marked:
            arn = self.database_arn.split(":rds:", 1)[0] + f":logs:{self.log_group_region}:"
            account = self.database_arn.split(":")[4]
            commands.append(
                f"aws logs tag-resource --resource-arn {arn}{account}:log-group:{self.log_group} "
                f"--tags {CONSENT_TAG_KEY}={CONSENT_TAG_VALUE}"
            )
        return commands

    def explanation(self) -> str:
        return "the owner has not consented: " + "; ".join(self.missing())

    def remedy(self) -> str:
        return "the database's owner grants consent with: " + " && ".join(self.grant_commands())


def consent_of(database: DatabaseFacts, log_group_tags: Mapping[str, str] | None, source: Source) -> Consent:
    """Both marks: the database's tags (the DB cluster's, or the DB instance's) and the log group's (None: no such
    log group)."""
    return Consent(
        database_arn=database.arn,
        database_tags=database.tags,
        log_group=source_log_group(source),
        log_group_region=source.region,
        log_group_tags=log_group_tags,
    )
