"""What one source account may start, kept in the rate budget table so that every function shares it.

Two items per account and region, each changed only by a conditional write (no read-then-write):
- `account-starts#<account>#<minute>`: the executions (adoptions, and the onboardings adoptions start) the account
  started in that calendar minute. An account past `executions_per_minute` waits for the next minute, so one
  member account's thousand clusters cannot take the archive's Firehose control-plane rate from the others.
- `adoption#<account>#<region>`: the account's current adoption. A new one takes the item over only if the
  item names the holder the caller saw (or none): of two callers that saw the same ended adoption, one wins.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG

STARTS_EXPIRY_SECONDS = 3600  # the table's TTL removes old minutes


class AccountLimits:
    def __init__(
        self,
        session: boto3.Session,
        table_name: str,
        executions_per_minute: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._table = guarded(session.resource("dynamodb", config=CLIENT_CONFIG).Table(table_name))
        self.executions_per_minute = executions_per_minute
        self._clock = clock or (lambda: time.time())  # noqa: PLW0108 (looked up at each call)

    def take_start(self, account_id: str) -> int | None:
        """Count one execution started by the account; None when it may start it, else the seconds until the
        next minute, when it may (what Retry-After says)."""
        now = self._clock()
        minute = int(now // 60)
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key={"id": f"account-starts#{account_id}#{minute}"},
                UpdateExpression="ADD starts :one SET expires_at = :expires",
                ConditionExpression=Attr("starts").not_exists() | Attr("starts").lt(self.executions_per_minute),
                ExpressionAttributeValues={":one": 1, ":expires": minute * 60 + STARTS_EXPIRY_SECONDS},
            )
            return None
        return max(1, math.ceil((minute + 1) * 60 - now))

    def adoption(self, account_id: str, region: str) -> dict[str, Any] | None:
        """The account's current (or last) adoption: adoption_id, execution_arn, held_seconds (since its hold)."""
        item = self._table.get_item(Key={"id": _adoption_key(account_id, region)}, ConsistentRead=True).get("Item")
        if not item:
            return None
        return {"adoption_id": str(item["adoption_id"]), "execution_arn": str(item["execution_arn"]),
                "held_seconds": self._clock() - float(item["held_at"])}  # fmt: skip

    def hold_adoption(
        self, account_id: str, region: str, adoption_id: str, execution_arn: str, over: str | None
    ) -> bool:
        """Make `execution_arn` the account's adoption if the item holds none, or holds `over` (an ended one)."""
        free = Attr("id").not_exists()
        condition = (free | Attr("execution_arn").eq(over)) if over else free
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key={"id": _adoption_key(account_id, region)},
                UpdateExpression="SET adoption_id = :id, execution_arn = :arn, held_at = :now",
                ConditionExpression=condition,
                ExpressionAttributeValues={":id": adoption_id, ":arn": execution_arn, ":now": int(self._clock())},
            )
            return True
        return False

    def drop_adoption(self, account_id: str, region: str, execution_arn: str) -> None:
        """Give the hold back (its execution could not be started); someone else's hold is left alone."""
        with refused("ConditionalCheckFailedException"):
            self._table.delete_item(
                Key={"id": _adoption_key(account_id, region)},
                ConditionExpression=Attr("execution_arn").eq(execution_arn),
            )


def _adoption_key(account_id: str, region: str) -> str:
    return f"adoption#{account_id}#{region}"
