"""The key that signs the API's pagination tokens: 32 random bytes written once, on first use, to a table of its own
(PageTokenKeyTable) that only the API function's role may read or write. Not the idempotency table: the functions
that parse events sent by source accounts (AutoOnboardRole) read and write that one, and could have read the key and
forged a token or replaced the key.

A stack upgraded from a version that kept the key in the idempotency table starts with an empty key table: the API
writes a new key, and tokens signed with the old one are refused as any unknown token is (400, list again)."""

from __future__ import annotations

import base64
import functools
import secrets

import boto3

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG, archive_session

KEY_ITEM_ID = "page-token-key"
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


@functools.lru_cache(maxsize=4)
def page_token_key(region: str, table_name: str) -> bytes:
    """Read (or first written) once per container."""
    return PageTokenKeyStore(archive_session(region), table_name).key()
