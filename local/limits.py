"""AWS's control-plane rate limits and resource quotas, enforced on the product's calls as AWS enforces them.

moto answers every call at once and creates without bound. AWS throttles each account and region with token
buckets and refuses to create past a quota; a fleet of onboardings meets both. Here each product call first takes
a token from its bucket (account, region, limit); an empty bucket answers with the error AWS returns, before moto
sees the request, inside botocore's retry loop as on AWS (so the SDK's retries see it too). Quotas are checked on
the creating calls and answered with AWS's LimitExceeded errors.

The figures and where they come from:
- Firehose: CreateDeliveryStream, DeleteDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams,
  UpdateDestination and the tag calls share 5 requests per second per account and region, a hard limit (Amazon
  Data Firehose quotas page); throttled calls get ThrottlingException "Rate exceeded".
- RDS: a token bucket per account and region of 300 requests, refilled 12 per second, for all RDS API calls
  ("Request throttling for the Amazon RDS API"); ThrottlingException.
- CloudWatch Logs: PutSubscriptionFilter, DeleteSubscriptionFilter, PutDestination, PutDestinationPolicy,
  DeleteDestination, CreateLogGroup and PutRetentionPolicy: 5 per second each (CloudWatch Logs quotas page; not
  re-checked against the live page from here); ThrottlingException.
- IAM: AWS publishes no rate for its mutating calls; they throttle with "Throttling". Emulated at 10 per second per
  account (an assumption, named as one in docs/operating.md), so that a fleet meets it as it would on AWS.
- Quotas: IAM roles per account 1,000 (IAM and AWS STS quotas page; LimitExceeded); Firehose streams per region
  5,000 (local/fidelity.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse


@dataclass(frozen=True)
class RateLimit:
    name: str
    per_second: float
    burst: float
    code: str


FIREHOSE_CONTROL_PLANE = RateLimit("firehose control plane", 5, 5, "ThrottlingException")
RDS_API = RateLimit("rds api", 12, 300, "ThrottlingException")
IAM_MUTATING = RateLimit("iam mutating", 10, 10, "Throttling")
LOGS_MUTATING = RateLimit("logs mutating", 5, 5, "ThrottlingException")

_FIREHOSE_CONTROL_OPERATIONS = frozenset({
    "CreateDeliveryStream", "DeleteDeliveryStream", "DescribeDeliveryStream", "ListDeliveryStreams",
    "UpdateDestination", "TagDeliveryStream", "UntagDeliveryStream", "ListTagsForDeliveryStream",
})  # fmt: skip
_LOGS_MUTATING_OPERATIONS = frozenset({
    "PutSubscriptionFilter", "DeleteSubscriptionFilter", "PutDestination", "PutDestinationPolicy",
    "DeleteDestination", "CreateLogGroup", "PutRetentionPolicy",
})  # fmt: skip
_IAM_READ_PREFIXES = ("Get", "List", "Simulate")


def limit_of(service: str, operation: str) -> tuple[RateLimit, str] | None:
    """The rate limit a call counts against, and the bucket's scope within the account ('' for account-wide)."""
    if service == "firehose" and operation in _FIREHOSE_CONTROL_OPERATIONS:
        return FIREHOSE_CONTROL_PLANE, ""
    if service == "rds":
        return RDS_API, ""
    if service == "logs" and operation in _LOGS_MUTATING_OPERATIONS:
        return LOGS_MUTATING, operation  # one bucket per operation
    if service == "iam" and not operation.startswith(_IAM_READ_PREFIXES):
        return IAM_MUTATING, ""
    return None


@dataclass
class _Bucket:
    tokens: float
    updated: float


class EmulatedClock:
    """The emulation's time: `scale` real seconds for each emulated one (0.001: a second passes in a millisecond),
    for the product's rate budget and AWS's rate limits alike, as for the state machines' retry delays."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._origin_real = time.monotonic()
        self._origin = time.time()

    def time(self) -> float:
        return self._origin + (time.monotonic() - self._origin_real) / self.scale

    def monotonic(self) -> float:
        return self.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) * self.scale)


@dataclass
class RateLimits:
    """Token buckets per (account, region, limit, scope), on the emulation's clock."""

    clock: EmulatedClock
    enabled: bool = True
    overrides: dict[str, RateLimit] = field(default_factory=dict)  # by limit name: a test's tighter limit
    throttled: Counter[str] = field(default_factory=Counter)  # "service:Operation" -> refusals
    _buckets: dict[tuple[str, str, str, str], _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refusal(
        self, account: str, region: str, service: str, operation: str, *, product: bool = True
    ) -> AWSResponse | None:
        """None when the call may go on; else AWS's throttling answer for it (counted when it is the product's)."""
        found = limit_of(service, operation) if self.enabled else None
        if found is None:
            return None
        limit, scope = found
        limit = self.overrides.get(limit.name, limit)
        key = (account, region, limit.name, scope)
        with self._lock:
            now = self.clock.monotonic()
            bucket = self._buckets.setdefault(key, _Bucket(limit.burst, now))
            bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated) * limit.per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            if product:
                self.throttled[f"{service}:{operation}"] += 1
        return error_response(service, limit.code, "Rate exceeded")

    @property
    def throttled_calls(self) -> int:
        return sum(self.throttled.values())


_QUERY_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "rds": "http://rds.amazonaws.com/doc/2014-10-31/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}


def error_response(service: str, code: str, message: str, status: int = 400) -> AWSResponse:
    """An error as the service's protocol carries it: XML for the query protocol (IAM, RDS, STS), else JSON."""
    if service in _QUERY_NAMESPACES:
        body = (
            f'<ErrorResponse xmlns="{_QUERY_NAMESPACES[service]}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>emulated-limit</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": "emulated-limit"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "emulated-limit"}
    return AWSResponse("https://emulated", status, headers, MockRawResponse(body))  # type: ignore[arg-type]
