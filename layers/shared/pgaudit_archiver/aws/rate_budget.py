"""A request rate that every function of the deployment shares, kept in DynamoDB.

Firehose's control plane (CreateDeliveryStream, DeleteDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams,
UpdateDestination) allows 5 requests per second per account and region, a hard limit (Amazon Data Firehose quotas
page). Onboardings, offboardings and reconciliation segments run in many Lambda invocations at once: each takes a
window of a quarter second before such a call (one conditional PutItem), and waits for the next window when it is
taken, so together they stay under the limit instead of meeting ThrottlingException.
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
# AWS meters with a token bucket (5 tokens, 5 a second): fixed one-second windows of 4 would let 8 calls through
# within a few milliseconds around a second's edge, and throttle. One call per quarter second never does: any
# second holds at most 5 quarters, begun or ended. 4 a second of AWS's 5 leaves 1 to people and other tools.
WINDOWS_PER_SECOND = 4
MAX_WAIT_SECONDS = 60.0  # then the step fails with ThrottledError, which the state machine retries later
WINDOW_EXPIRY_SECONDS = 3600  # the table's TTL removes old windows


class RateBudget:
    """`calls_per_second` of the WINDOWS_PER_SECOND windows of each second are this caller's to take (the first
    ones): reconciliation takes 3, onboarding and offboarding all 4, so a long run never starves an onboarding."""

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
        """Take the next free window of this caller's, waiting for it."""
        deadline = self._clock() + MAX_WAIT_SECONDS
        while True:
            now = self._clock()
            window = int(now * WINDOWS_PER_SECOND)
            if window % WINDOWS_PER_SECOND < self.calls_per_second and self._taken(window):
                return
            if now >= deadline:
                raise ThrottledError(
                    f"no {self.name} slot free for {MAX_WAIT_SECONDS:.0f} s "
                    f"({self.calls_per_second} per second for this caller)"
                )
            self.waits += 1
            # Into the next window, spread so that the waiting callers do not all ask at its first millisecond.
            wait = (window + 1) / WINDOWS_PER_SECOND - now
            self._sleep(wait + random.uniform(0, 0.05))

    def _taken(self, window: int) -> bool:
        with refused("ConditionalCheckFailedException"):
            self._table.put_item(
                Item={
                    "id": f"{self.name}#{window}",
                    "expires_at": window // WINDOWS_PER_SECOND + WINDOW_EXPIRY_SECONDS,
                },
                ConditionExpression="attribute_not_exists(id)",
            )
            return True
        return False
