"""The two accounts as the steps see them: data-access objects, each built on first use and kept by the container.

`archive_account(settings)` and `source_account(settings, source)` give the same object to every invocation of a
container, so its clients are created once. A source account's assumed-role credentials are kept until shortly
before they expire, never beyond: then the next invocation assumes the role again.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TypeVar

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from pgaudit_archiver.aws.account_limits import AccountLimits
from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.aws.logs import ArchiveLogs, SourceLogs
from pgaudit_archiver.aws.organization_adoptions import OrganizationAdoptions
from pgaudit_archiver.aws.organizations import ArchiveOrganizations
from pgaudit_archiver.aws.rate_budget import FIREHOSE_CONTROL_PLANE, RateBudget
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.rds_data import SourceRdsData
from pgaudit_archiver.aws.rds_inventory import SourceClusterInventory
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.aws.role_holders import RoleHolders
from pgaudit_archiver.aws.secrets import SourceSecrets
from pgaudit_archiver.aws.sessions import AssumedSession, ClientMaker, archive_session, source_session
from pgaudit_archiver.aws.stepfunctions import ArchiveStepFunctions
from pgaudit_archiver.errors import ConfigurationError
from pgaudit_archiver.models import Source
from pgaudit_archiver.settings import (
    AccountLimitSettings,
    FirehoseBudgetSettings,
    FunctionSettings,
    IdempotencySettings,
    RegionSettings,
    RegistrySettings,
    RoleHoldersSettings,
    SettingsT,
    SourceAccessSettings,
)

# Longer than any function's timeout (template.yaml: at most 120 s), so credentials taken at the start of an
# invocation last until its end.
REFRESH_BEFORE_EXPIRY = timedelta(minutes=5)
MAX_SOURCE_ACCOUNTS = 64  # accounts (and regions) kept; each keeps a few clients


DataAccessT = TypeVar("DataAccessT")


def _on_session(data_access: Callable[[ClientMaker], DataAccessT]) -> cached_property[DataAccessT]:
    """A data-access object built on the account's session at first use, then kept with the account."""

    def build(account: SourceAccount | ArchiveAccount) -> DataAccessT:
        return data_access(account.session)

    return cached_property(build)


class SourceAccount:
    """A source account, reached through its pgaudit-archiver role (assumed on first use)."""

    def __init__(self, settings: SourceAccessSettings, source: Source) -> None:
        self._settings = settings
        self._source = source
        self._assumed: AssumedSession | None = None

    @property
    def session(self) -> ClientMaker:
        if self._assumed is None:
            self._assumed = source_session(self._settings, self._source)
        return self._assumed.session

    def usable_at(self, moment: datetime) -> bool:
        """Whether an invocation starting at `moment` may still use this account's credentials."""
        return self._assumed is None or self._assumed.expires_at - moment > REFRESH_BEFORE_EXPIRY

    rds = _on_session(SourceRds)
    inventory = _on_session(SourceClusterInventory)
    rds_data = _on_session(SourceRdsData)
    secrets = _on_session(SourceSecrets)
    logs = _on_session(SourceLogs)


class ArchiveAccount:
    """This account, through the function's own role."""

    def __init__(self, settings: RegionSettings) -> None:
        self._settings = settings
        self.session = archive_session(settings.region)

    @cached_property
    def firehose(self) -> ArchiveFirehose:
        if not isinstance(self._settings, FirehoseBudgetSettings):  # the transform: data plane only
            return ArchiveFirehose(self.session)
        budget = RateBudget(
            self.session,
            self._settings.rate_budget_table,
            FIREHOSE_CONTROL_PLANE,
            self._settings.firehose_calls_per_second,
        )
        return ArchiveFirehose(self.session, budget.take)

    iam = _on_session(ArchiveIam)
    logs = _on_session(ArchiveLogs)
    stepfunctions = _on_session(ArchiveStepFunctions)

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.session, _having(self._settings, RegistrySettings).registry_table)

    @cached_property
    def account_limits(self) -> AccountLimits:
        settings = _having(self._settings, AccountLimitSettings)
        return AccountLimits(self.session, settings.rate_budget_table, settings.account_executions_per_minute)

    @cached_property
    def organizations(self) -> ArchiveOrganizations:
        return ArchiveOrganizations(self.session)

    @cached_property
    def organization_adoptions(self) -> OrganizationAdoptions:
        return OrganizationAdoptions(self.session, _having(self._settings, AccountLimitSettings).rate_budget_table)

    @cached_property
    def role_holders(self) -> RoleHolders:
        return RoleHolders(self.session, _having(self._settings, RoleHoldersSettings).rate_budget_table)

    @cached_property
    def idempotency_store(self) -> DynamoDBPersistenceLayer:
        table = _having(self._settings, IdempotencySettings).idempotency_table
        return DynamoDBPersistenceLayer(table_name=table, boto3_session=self.session)


def _having(settings: FunctionSettings, group: type[SettingsT]) -> SettingsT:
    if not isinstance(settings, group):
        raise ConfigurationError(
            f"{type(settings).__name__} does not include {group.__name__}", remedy=f"add {group.__name__} to it"
        )
    return settings


@functools.lru_cache(maxsize=8)
def archive_account(settings: RegionSettings) -> ArchiveAccount:
    """The archive account for these settings, the same object for every invocation of the container."""
    return ArchiveAccount(settings)


_source_accounts: OrderedDict[tuple[SourceAccessSettings, str, str], SourceAccount] = OrderedDict()
_source_accounts_lock = threading.Lock()


def source_account(settings: SourceAccessSettings, source: Source, now: datetime | None = None) -> SourceAccount:
    """The source's account (and region) for these settings: the one kept from an earlier invocation, for any of its
    clusters, while its credentials last (REFRESH_BEFORE_EXPIRY to spare), else a new one that assumes the role
    again. One AssumeRole and one set of clients per account, not per cluster: a reconciliation run checks
    thousands of clusters in a few dozen accounts."""
    moment = now or datetime.now(tz=UTC)
    key = (settings, source.account_id, source.region)
    with _source_accounts_lock:
        account = _source_accounts.get(key)
        if account is None or not account.usable_at(moment):
            account = _source_accounts[key] = SourceAccount(settings, source)
        _source_accounts.move_to_end(key)
        while len(_source_accounts) > MAX_SOURCE_ACCOUNTS:
            _source_accounts.popitem(last=False)
        return account


def clear_account_caches() -> None:
    """Forget every kept account (and so its clients and credentials)."""
    archive_account.cache_clear()
    with _source_accounts_lock:
        _source_accounts.clear()
