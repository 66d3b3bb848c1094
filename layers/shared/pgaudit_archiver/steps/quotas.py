"""Quotas a new source consumes, checked before anything is created: one IAM role (its account's destination role,
when the account has none in this region yet), one Firehose stream, one CloudWatch Logs destination. Past a quota
AWS refuses the creating call halfway through an onboarding; checked first, onboarding fails at its first creating
step with the quota's name and how to raise it.

Where each figure comes from:
- IAM roles per account: IAM's GetAccountSummary reports the count (Roles) and the account's quota (RolesQuota);
  default 1,000, adjustable up to 5,000 (IAM and AWS STS quotas page).
- Firehose streams per Region: counted with ListDeliveryStreams; the quota (default 5,000, adjustable; Amazon Data
  Firehose quotas page) is the deployment's FirehoseStreamsQuota parameter, since no API here reads it.
- CloudWatch Logs destinations: not checked; see docs/operating.md, Scale and quotas.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.errors import QuotaExceededError


@dataclass(frozen=True)
class Quota:
    name: str
    how_to_raise: str


IAM_ROLES = Quota(
    "IAM roles per account",
    "request an increase in Service Quotas (service IAM, quota 'Roles per account', code L-FE177D64)",
)
FIREHOSE_STREAMS = Quota(
    "Firehose streams per Region",
    "request an increase in Service Quotas (service Amazon Data Firehose, quota 'Delivery streams per Region'), "
    "then set the stack's FirehoseStreamsQuota parameter to the new value",
)


def require_room(quota: Quota, used: int, limit: int, needed: int = 1) -> None:
    if used + needed > limit:
        raise QuotaExceededError(
            f"{quota.name}: {used} of {limit} used; onboarding needs {needed} more",
            remedy=f"{quota.how_to_raise}, or offboard sources no longer needed; nothing was created",
        )


def check_quotas(
    iam: ArchiveIam, firehose: ArchiveFirehose, firehose_streams_quota: int, account_role: str | None = None
) -> None:
    """Room for one more source's stream, and for its account's destination role unless `account_role` exists
    already; else QuotaExceededError naming the quota."""
    if account_role is None or iam.get_role(account_role) is None:
        roles, roles_quota = iam.role_usage()
        require_room(IAM_ROLES, roles, roles_quota)
    require_room(FIREHOSE_STREAMS, firehose.count_streams(), firehose_streams_quota)
