"""The key that signs the API's pagination tokens: 32 random bytes written once, on first use, to the idempotency
table. The API function already reads and writes that table and nothing lists it (the registry is scanned for
admins, so it cannot hold a secret); whoever may read the table in the archive account may read the key."""

from __future__ import annotations

import base64
import secrets

import boto3

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG

KEY_ITEM_ID = "pgaudit-archiver#page-token-key"  # Powertools' own items are "<function>#<hash>"
KEY_BYTES = 32


class PageTokenKeyStore:
    def __init__(self, session: boto3.Session, table_name: str) -> None:
        self._table = guarded(session.resource("dynamodb", config=CLIENT_CONFIG).Table(table_name))

    def key(self) -> bytes:
        """The stored key; the first caller writes it, and concurrent first callers all read the winner's."""
        item = self._read()
        if item is None:
            with refused("ConditionalCheckFailedException"):
                self._table.put_item(
                    Item={"id": KEY_ITEM_ID, "key": base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()},
                    ConditionExpression="attribute_not_exists(id)",
                )
            item = self._read() or {}
        return base64.b64decode(str(item["key"]))

    def _read(self) -> dict[str, str] | None:
        item: dict[str, str] | None = self._table.get_item(Key={"id": KEY_ITEM_ID}, ConsistentRead=True).get("Item")
        return item
