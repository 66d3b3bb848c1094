"""Secrets Manager in the source account: finding the secret an owner tagged for pgaudit-archiver (never its value:
the RDS Data API reads the secret itself, with the source role's credentials)."""

from __future__ import annotations

from typing import Any

from pgaudit_archiver.aws.client_errors import guarded
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG, ClientMaker
from pgaudit_archiver.models import Model

PAGE_SIZE = 100  # ListSecrets' largest page


class SecretEntry(Model):
    arn: str
    name: str
    tags: dict[str, str]
    owning_service: str | None = None  # "rds" for a master user secret RDS manages


class SourceSecrets:
    def __init__(self, session: ClientMaker) -> None:
        self._secrets = guarded(session.client("secretsmanager", config=CLIENT_CONFIG))

    def tagged(self, key: str, value: str) -> list[SecretEntry]:
        """The secrets (not scheduled for deletion) with tag `key` = `value`, exactly. ListSecrets' tag-key and
        tag-value filters match prefixes, each on any of a secret's tags (Secrets Manager API reference, Filter):
        the tags each entry lists are checked here. ListSecrets is eventually consistent (a few minutes)."""
        filters = [{"Key": "tag-key", "Values": [key]}, {"Key": "tag-value", "Values": [value]}]
        found: list[SecretEntry] = []
        options: dict[str, Any] = {"Filters": filters, "MaxResults": PAGE_SIZE}
        while True:
            page = self._secrets.list_secrets(**options)
            for entry in page.get("SecretList", []):
                tags = {tag["Key"]: tag.get("Value", "") for tag in entry.get("Tags", [])}
                if tags.get(key) == value:
                    found.append(
                        SecretEntry(
                            arn=entry["ARN"],
                            name=entry.get("Name", ""),
                            tags=tags,
                            owning_service=entry.get("OwningService"),
                        )
                    )
            if not page.get("NextToken"):
                return found
            options["NextToken"] = page["NextToken"]
