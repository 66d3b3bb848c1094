"""A request rate that every function of the deployment shares, kept in DynamoDB.

Firehose's control plane (CreateDeliveryStream, DeleteDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams,
UpdateDestination) allows 5 requests per second per account and region, a hard limit (Amazon Data Firehose quotas
page). Onboardings, offboardings and reconciliation segments run in many Lambda invocations at once: each takes a
slot of the current second before such a call (one conditional UpdateItem), and waits for the next second when
the slots are taken, so together they stay under the limit instead of meeting ThrottlingException. Each caller
has a ceiling of its own: reconciliation stops below onboarding's, so a long run never starves an onboarding.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import boto3

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG
from pgaudit_archiver.errors import ThrottledError

FIREHOSE_CONTROL_PLANE = "firehose-control-plane"
MAX_WAIT_SECONDS = 60.0  # then the step fails with ThrottledError, which the state machine retries later
WINDOW_EXPIRY_SECONDS = 3600  # the table's TTL removes old windows


class RateBudget:
    def __init__(
        self,
        session: boto3.Session,
        table_name: str,
        name: str,
        calls_per_second: int,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._table = guarded(session.resource("dynamodb", config=CLIENT_CONFIG).Table(table_name))
        self.name = name
        self.calls_per_second = calls_per_second
        # The module's clock, looked up at each call (the local emulation runs it faster, as its polls).
        self._clock = clock or (lambda: time.time())  # noqa: PLW0108 (not time.time: looked up at each call)
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))  # noqa: PLW0108
        self.waits = 0  # how often this container waited for a slot (tests, logs)

    def take(self) -> None:
        """Take a slot of the current second, waiting for a later second while the slots are taken."""
        deadline = self._clock() + MAX_WAIT_SECONDS
        while True:
            now = self._clock()
            second = int(now)
            if self._taken(second):
                return
            if now >= deadline:
                raise ThrottledError(
                    f"no {self.name} slot free for {MAX_WAIT_SECONDS:.0f} s "
                    f"({self.calls_per_second} per second for this caller)"
                )
            self.waits += 1
            # Into the next second, spread so that the waiting callers do not all ask at its first millisecond.
            self._sleep(second + 1 - now + random.uniform(0, 0.2))

    def _taken(self, second: int) -> bool:
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key={"id": f"{self.name}#{second}"},
                UpdateExpression="ADD calls :one SET expires_at = :expiry",
                ConditionExpression="attribute_not_exists(calls) OR calls < :ceiling",
                ExpressionAttributeValues={
                    ":one": 1,
                    ":ceiling": self.calls_per_second,
                    ":expiry": second + WINDOW_EXPIRY_SECONDS,
                },
            )
            return True
        return False
