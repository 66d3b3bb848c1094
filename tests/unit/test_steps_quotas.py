"""Quota checks before onboarding creates anything: one more role and one more stream must fit."""

from __future__ import annotations

import pytest

from pgaudit_archiver.errors import QuotaExceededError
from pgaudit_archiver.steps.delivery_stream import ensure_delivery_stream
from pgaudit_archiver.steps.quotas import check_quotas
from tests.unit.fakes import SOURCE, FakeFirehose, FakeIam, stack_settings


def _full_iam(quota: int) -> FakeIam:
    iam = FakeIam(roles_quota=quota)
    iam.roles = {f"role-{i}": {"Arn": f"arn:aws:iam::123456789012:role/role-{i}"} for i in range(quota)}
    return iam


def test_room_for_one_more_role_and_stream_passes() -> None:
    iam = _full_iam(3)
    iam.roles_quota = 4
    check_quotas(iam, FakeFirehose(), firehose_streams_quota=1)


def test_a_full_roles_quota_stops_onboarding_before_the_stream_is_created() -> None:
    firehose, iam = FakeFirehose(), _full_iam(5)

    with pytest.raises(QuotaExceededError) as raised:
        ensure_delivery_stream(firehose, stack_settings(), SOURCE, 0, lambda: check_quotas(iam, firehose, 5000))

    assert "IAM roles per account: 5 of 5 used" in str(raised.value)
    assert "L-FE177D64" in str(raised.value)
    assert firehose.streams == {} and firehose.mutations == []


def test_a_full_streams_quota_names_the_parameter_to_raise() -> None:
    firehose = FakeFirehose()
    firehose.streams = {f"other-{i}": {} for i in range(2)}

    with pytest.raises(QuotaExceededError) as raised:
        check_quotas(FakeIam(), firehose, firehose_streams_quota=2)

    assert "Firehose streams per Region: 2 of 2 used" in str(raised.value)
    assert "FirehoseStreamsQuota" in str(raised.value)


def test_a_stream_that_exists_is_not_checked_again() -> None:
    firehose, iam = FakeFirehose(), _full_iam(1)
    ensure_delivery_stream(firehose, stack_settings(), SOURCE, 0)  # created before the quota filled

    ensure_delivery_stream(firehose, stack_settings(), SOURCE, 1, lambda: check_quotas(iam, firehose, 1))


def test_a_full_roles_quota_passes_a_source_whose_account_has_its_destination_role_already() -> None:
    iam = _full_iam(5)
    iam.roles["pgaudit-dest-eu-west-1-111122223333"] = {"Arn": "arn:aws:iam::123456789012:role/x", "trust": {},
                                                         "tags": {}}  # fmt: skip
    iam.roles_quota = len(iam.roles)

    check_quotas(iam, FakeFirehose(), 5000, "pgaudit-dest-eu-west-1-111122223333")

    with pytest.raises(QuotaExceededError):
        check_quotas(iam, FakeFirehose(), 5000, "pgaudit-dest-eu-west-1-444455556666")
