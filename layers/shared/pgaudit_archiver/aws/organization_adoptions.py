"""Where an organization-wide adoption stands, kept in the rate budget table beside the account holds.

One item per organization adoption, `organization-adoption#<adoption id>`, changed only by atomic ADDs: accounts
listed, adoptions started, and each account's end (succeeded, failed, skipped). A failed account's reason is kept
for the first MAX_FAILURES_KEPT, so the item stays far below DynamoDB's 400 KB; the count is always exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import boto3
from boto3.dynamodb.conditions import Attr

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG

AccountOutcome = Literal["succeeded", "failed", "skipped"]
MAX_FAILURES_KEPT = 200
REASON_CHARACTERS = 500
KEPT_SECONDS = 90 * 24 * 3600  # as long as Step Functions keeps the execution it describes
COUNTERS = ("listed", "started", "succeeded", "failed", "skipped")


class OrganizationAdoptions:
    def __init__(self, session: boto3.Session, table_name: str, clock: Callable[[], float] | None = None) -> None:
        self._table = guarded(session.resource("dynamodb", config=CLIENT_CONFIG).Table(table_name))
        self._clock = clock or (lambda: time.time())  # noqa: PLW0108 (looked up at each call)

    def begin(self, adoption_id: str) -> None:
        """The progress item with every counter at zero; a retried first step leaves an existing one as it is."""
        with refused("ConditionalCheckFailedException"):
            self._table.put_item(
                Item={"id": _key(adoption_id), **dict.fromkeys(COUNTERS, 0), "failures": {},
                      "expires_at": int(self._clock()) + KEPT_SECONDS},
                ConditionExpression=Attr("id").not_exists(),
            )  # fmt: skip

    def count(self, adoption_id: str, counter: Literal["listed", "started"], how_many: int = 1) -> None:
        self._table.update_item(
            Key={"id": _key(adoption_id)},
            UpdateExpression="ADD #counter :n",
            ExpressionAttributeNames={"#counter": counter},
            ExpressionAttributeValues={":n": how_many},
        )

    def finish(self, adoption_id: str, account_id: str, outcome: AccountOutcome, reason: str | None = None) -> None:
        """Count the account's end; a failure's (or a skip's) reason kept while fewer than MAX_FAILURES_KEPT are."""
        if reason is not None:
            with refused("ConditionalCheckFailedException"):
                self._table.update_item(
                    Key={"id": _key(adoption_id)},
                    UpdateExpression="ADD #outcome :one SET failures.#account = :reason",
                    ConditionExpression=Attr("failures").size().lt(MAX_FAILURES_KEPT),
                    ExpressionAttributeNames={"#outcome": outcome, "#account": account_id},
                    ExpressionAttributeValues={":one": 1, ":reason": f"{outcome}: {reason}"[:REASON_CHARACTERS]},
                )
                return
        self._table.update_item(
            Key={"id": _key(adoption_id)},
            UpdateExpression="ADD #outcome :one",
            ExpressionAttributeNames={"#outcome": outcome},
            ExpressionAttributeValues={":one": 1},
        )

    def progress(self, adoption_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"id": _key(adoption_id)}, ConsistentRead=True).get("Item")
        if not item:
            return None
        counts = {name: int(item.get(name, 0)) for name in COUNTERS}
        return {**counts, "reasons": {str(k): str(v) for k, v in (item.get("failures") or {}).items()}}


def _key(adoption_id: str) -> str:
    return f"organization-adoption#{adoption_id}"
