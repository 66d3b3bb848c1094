"""AWS's rate limits and quotas, as the emulation enforces them on the product's calls (local/limits.py), and how
the product meets them: throttling absorbed, a full quota refused before anything is created."""

import json
from concurrent.futures import ThreadPoolExecutor

from local import SOURCE_ACCOUNT, World
from local.limits import (
    FIREHOSE_CONTROL_PLANE,
    IAM_MUTATING,
    RDS_API,
    EmulatedClock,
    RateLimit,
    RateLimits,
    limit_of,
)


class StoppedClock(EmulatedClock):
    def __init__(self) -> None:
        super().__init__(1.0)
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def refused(limits: RateLimits, service: str, operation: str, account: str = SOURCE_ACCOUNT) -> bool:
    return limits.refusal(account, "eu-west-1", service, operation) is not None


def test_firehose_control_plane_allows_five_per_second_per_account_and_region_across_its_operations():
    clock = StoppedClock()
    limits = RateLimits(clock)
    operations = ["CreateDeliveryStream", "DescribeDeliveryStream", "DeleteDeliveryStream", "ListDeliveryStreams",
                  "UpdateDestination"]  # fmt: skip
    assert [refused(limits, "firehose", op, "123456789012") for op in operations] == [False] * 5
    assert refused(limits, "firehose", "DescribeDeliveryStream", "123456789012")  # the sixth in that second
    assert not refused(limits, "firehose", "DescribeDeliveryStream", "999999999999")  # another account's bucket
    assert not refused(limits, "firehose", "PutRecordBatch", "123456789012")  # data plane: not this limit
    clock.now += 0.2  # one token back
    assert not refused(limits, "firehose", "DescribeDeliveryStream", "123456789012")
    assert limits.throttled == {"firehose:DescribeDeliveryStream": 1}


def test_rds_allows_a_burst_of_300_then_12_per_second():
    clock = StoppedClock()
    limits = RateLimits(clock)
    assert sum(refused(limits, "rds", "DescribeDBClusters") for _ in range(301)) == 1
    clock.now += 1.0
    assert sum(refused(limits, "rds", "ModifyDBCluster") for _ in range(13)) == 1


def test_each_limit_answers_with_the_error_aws_returns():
    assert limit_of("firehose", "CreateDeliveryStream")[0] == FIREHOSE_CONTROL_PLANE
    assert limit_of("iam", "GetRole") is None and limit_of("iam", "PutRolePolicy")[0] == IAM_MUTATING
    assert limit_of("rds", "RebootDBInstance")[0] == RDS_API
    assert limit_of("logs", "PutSubscriptionFilter")[1] == "PutSubscriptionFilter"  # a bucket per operation
    clock = StoppedClock()
    limits = RateLimits(clock)
    for _ in range(5):
        limits.refusal("123456789012", "eu-west-1", "firehose", "CreateDeliveryStream")
    answer = limits.refusal("123456789012", "eu-west-1", "firehose", "CreateDeliveryStream")
    assert answer.status_code == 400
    assert json.loads(answer.content) == {"__type": "ThrottlingException", "message": "Rate exceeded"}
    for _ in range(10):
        limits.refusal("123456789012", "us-east-1", "iam", "CreateRole")
    xml = limits.refusal("123456789012", "us-east-1", "iam", "CreateRole").content.decode()
    assert "<Code>Throttling</Code>" in xml and "<Type>Sender</Type>" in xml


def test_throttled_calls_are_absorbed_by_retries_and_concurrent_onboardings_all_succeed():
    # Real time (scale 1), and IAM held to 2 calls a second: concurrent onboardings meet throttling, as a fleet
    # does on AWS; the SDK's retries and the state machine's absorb it. Firehose stays under its limit by the budget.
    # Three accounts: each onboarding creates its account's destination role (sources of one account share one).
    accounts = (SOURCE_ACCOUNT, "444455556666", "555566667777")
    with World(source_accounts=accounts, retry_sleep_scale=1.0) as world:
        world.limits.overrides[IAM_MUTATING.name] = RateLimit(IAM_MUTATING.name, 2, 2, IAM_MUTATING.code)
        for index, account in enumerate(accounts):
            world.create_cluster(f"burst-{index}", instances=1, account=account)
        with ThreadPoolExecutor(max_workers=3) as pool:
            arns = list(pool.map(
                lambda i: world.start_onboarding(world.request(f"burst-{i}", account=accounts[i])), range(3)
            ))  # fmt: skip
        results = [world.wait(arn, timeout=300) for arn in arns]

        assert [r.status for r in results] == ["SUCCEEDED"] * 3, [r.cause for r in results]
        assert world.limits.throttled_calls > 0  # the limits were met, and nothing failed for it
        assert "firehose:CreateDeliveryStream" not in world.limits.throttled  # the budget kept Firehose under


def test_a_full_iam_roles_quota_stops_only_the_onboarding_of_a_new_account_before_anything_is_created():
    other_account = "444455556666"
    with World() as probe:
        roles_after_deploy = len(probe.client("iam").list_roles()["Roles"])
    with World(source_accounts=(SOURCE_ACCOUNT, other_account), iam_roles_quota=roles_after_deploy + 1) as world:
        world.create_cluster("first")
        world.create_cluster("second")
        world.create_cluster("third", account=other_account)
        assert world.onboard(world.request("first")).status == "SUCCEEDED"  # its account's role: the last slot
        assert world.onboard(world.request("second")).status == "SUCCEEDED"  # shares it: needs no slot

        execution = world.onboard(world.request("third", account=other_account))

        assert execution.status == "FAILED"
        assert execution.error == "QuotaExceededError"
        assert "IAM roles per account" in execution.cause and "L-FE177D64" in execution.cause
        streams = world.client("firehose").list_delivery_streams()["DeliveryStreamNames"]
        assert [s for s in streams if "third" in s] == []
        assert world.registry_item("third", account=other_account)["status"] == "failed"


def test_create_role_past_the_quota_is_refused_as_aws_does():
    with World() as world:
        roles = len(world.client("iam").list_roles()["Roles"])
        world.iam_roles_quota = roles  # CreateRole is refused; GetAccountSummary still says 1,000, so the check passes
        world.create_cluster("c")

        execution = world.onboard(world.request("c"))

        assert execution.status == "FAILED"
        assert "LimitExceeded" in execution.cause and "RolesPerAccount" in execution.cause
