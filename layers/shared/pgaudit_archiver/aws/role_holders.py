"""Who uses an account's shared destination role, kept in the rate budget table so onboarding and offboarding agree.

One item per source account and region, `destination-role#<account>#<region>`, changed only by conditional writes:
- `holders`: the sources whose destinations deliver with the role. Ensure Destination Role adds its source before it
  makes sure the role exists; Delete Destination removes its source after its destination is gone.
- `retiring_by` / `retiring_until`: an offboarding that found no holder left and is deleting the role. While it
  holds that mark no onboarding may join (it retries: RoleNotReadyError), so a role is never deleted under a
  destination that was just pointed at it. The mark lapses after RETIREMENT_LEASE_SECONDS, longer than the deleting
  function may run, so a crashed offboarding blocks onboardings of the account for at most that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import boto3
from boto3.dynamodb.conditions import Attr

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG

# Delete Destination runs at most the Globals' 60 s (template.yaml): twice that, and its claim is surely over.
RETIREMENT_LEASE_SECONDS = 120


def holders_key(account_id: str, region: str) -> str:
    return f"destination-role#{account_id}#{region}"


class RoleHolders:
    def __init__(self, session: boto3.Session, table_name: str, clock: Callable[[], float] | None = None) -> None:
        self._table = guarded(session.resource("dynamodb", config=CLIENT_CONFIG).Table(table_name))
        self._clock = clock or (lambda: time.time())  # noqa: PLW0108 (looked up at each call)

    def join(self, account_id: str, region: str, source_id: str) -> bool:
        """Add the source to the role's holders; False while an offboarding is deleting the role."""
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key={"id": holders_key(account_id, region)},
                UpdateExpression="ADD holders :me",
                ConditionExpression=Attr("retiring_until").not_exists() | Attr("retiring_until").lt(int(self._clock())),
                ExpressionAttributeValues={":me": {source_id}},
            )
            return True
        return False

    def leave(self, account_id: str, region: str, source_id: str) -> bool:
        """Remove the source from the holders; True when none is left and the caller now holds the retirement mark
        (it may delete the role, then calls `retired`). DynamoDB removes a set attribute whose last member goes."""
        key = {"id": holders_key(account_id, region)}
        self._table.update_item(Key=key, UpdateExpression="DELETE holders :me", ExpressionAttributeValues={
            ":me": {source_id}})  # fmt: skip
        now = int(self._clock())
        unmarked = Attr("retiring_until").not_exists() | Attr("retiring_until").lt(now)
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key=key,
                UpdateExpression="SET retiring_by = :me, retiring_until = :until",
                ConditionExpression=Attr("holders").not_exists() & (unmarked | Attr("retiring_by").eq(source_id)),
                ExpressionAttributeValues={":me": source_id, ":until": now + RETIREMENT_LEASE_SECONDS},
            )
            return True
        return False

    def retired(self, account_id: str, region: str, source_id: str) -> None:
        """The role is gone: drop the item, unless another source joined since (after a lapsed mark)."""
        with refused("ConditionalCheckFailedException"):
            self._table.delete_item(
                Key={"id": holders_key(account_id, region)},
                ConditionExpression=Attr("retiring_by").eq(source_id) & Attr("holders").not_exists(),
            )
