"""What the API and the automatic onboarding do: authorize the caller, keep one execution per source, start the
workflows, and read the registry."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from pgaudit_archiver.audit_policy import EXCEPTION_FIELD, Audit, AuditPolicy
from pgaudit_archiver.aws.account_limits import AccountLimits
from pgaudit_archiver.aws.accounts import archive_account, source_account
from pgaudit_archiver.aws.page_token_key import page_token_key
from pgaudit_archiver.aws.registry import Registry, now
from pgaudit_archiver.aws.stepfunctions import ArchiveStepFunctions
from pgaudit_archiver.consent import Consent, consent_of
from pgaudit_archiver.errors import (
    AccountRateLimitedError,
    AdoptionRunningError,
    ArchiverError,
    AuditPolicyError,
    AwsRequestError,
    ConsentRequiredError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    SourceAccessDeniedError,
)
from pgaudit_archiver.kinds import kind_of
from pgaudit_archiver.models import (
    AccountId,
    AnyOffboardRequest,
    InstanceOnboardRequest,
    Model,
    OnboardRequest,
    Region,
    Source,
    StrictModel,
)
from pgaudit_archiver.naming import console_url, execution_name, log_group_arn
from pgaudit_archiver.settings import ApiSettings
from pgaudit_archiver.status import SourceStatus

# What API Gateway's IAM authorization puts in requestContext.identity.userArn (IAM names: [\w+=,.@-], ASCII).
# Never a role's own ARN: a role signs nothing, its sessions do (assumed-role/ROLE/SESSION).
_NAME = r"[A-Za-z0-9_+=,.@-]{1,128}"
PRINCIPAL_ARN = re.compile(
    rf"arn:aws[a-z-]*:(?:iam::(?P<iam>[0-9]{{12}}):(?:root|user/(?:[!-~]*/)?{_NAME})"
    rf"|sts::(?P<sts>[0-9]{{12}}):(?:assumed-role/{_NAME}/{_NAME}|federated-user/{_NAME}))",
    re.ASCII,
)


class Caller(Model):
    """Who signed the request (API Gateway's IAM authorization fills requestContext.identity)."""

    account_id: str
    principal_arn: str

    @classmethod
    def signed(cls, account_id: object, principal_arn: object) -> Caller:
        """The caller API Gateway vouches for, or ForbiddenError: both fields present, well formed, and the
        principal of the account it claims."""
        if isinstance(account_id, str) and isinstance(principal_arn, str):
            match = PRINCIPAL_ARN.fullmatch(principal_arn)
            if match and account_id in (match["iam"], match["sts"]):
                return cls(account_id=account_id, principal_arn=principal_arn)
        raise ForbiddenError(
            "the request carries no signed AWS identity", remedy="sign it with SigV4 (IAM authorization)"
        )

    @property
    def role_arn(self) -> str:
        """arn:aws:sts::A:assumed-role/R/session -> arn:aws:iam::A:role/R, the form AdminPrincipalArns lists."""
        parts = self.principal_arn.split(":")
        if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
            role = parts[5].split("/")[1]
            return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
        return self.principal_arn


class Started(Model):
    operation: Literal["onboard", "offboard", "verify"]
    source: Source
    execution_arn: str | None
    console_url: str | None
    already_running: bool
    status_path: str


# An adoption's execution that does not exist this long after its hold was taken was never started: the API
# function that took the hold has ended (template.yaml: Timeout 60).
ADOPTION_START_GRACE_SECONDS = 120


class AdoptRequest(StrictModel):
    """POST /accounts/{account_id}/adopt: which clusters of the account to onboard (see steps/adopt.py)."""

    region: Region | None = Field(default=None, description="the clusters' region; this stack's when left out")
    mode: Literal["all", "tagged"] | None = Field(
        default=None, description="all, or only clusters tagged pgaudit-archiver=enabled; AutoOnboard's when left out"
    )
    dry_run: bool = Field(default=False, description="list what would be onboarded and why the rest is skipped")


class Adoption(Model):
    account_id: str
    region: str
    dry_run: bool
    adoption_id: str  # the execution's name
    execution_arn: str
    console_url: str
    status_path: str


def adoption_status_path(account_id: str, adoption_id: str) -> str:
    return f"/accounts/{account_id}/adoptions/{adoption_id}"


def adoption_id_pattern(account_id: str) -> re.Pattern[str]:
    """The names service.adopt gives: an account may read only its own adoptions."""
    return re.compile(rf"adopt-{account_id}-[a-z]{{2}}(?:-[a-z]+)+-\d-(?:dry-run-)?[0-9a-f]{{8}}")


class ClusterPage(Model):
    items: list[dict[str, Any]]
    next_token: str | None = None


class ClusterQuery(StrictModel):
    account_id: AccountId | None = None
    status: SourceStatus | None = None
    limit: int = Field(default=25, ge=1, le=100)
    next_token: str | None = Field(default=None, max_length=2048)


class PageTokens:
    """Pagination tokens the caller cannot read into or forge: the registry's start key and an HMAC-SHA256 over
    it, the caller and the query. A token changed in any byte, or used by another principal or with another
    account or status filter, is refused (400); it never reaches DynamoDB as a start key."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key = key

    def seal(self, start: str, binding: str) -> str:
        return f"{start}.{self._mac(start, binding)}"

    def open(self, token: str, binding: str) -> str:
        start, _, mac = token.rpartition(".")
        # compare_digest takes only ASCII strings
        if not (token.isascii() and start and hmac.compare_digest(mac, self._mac(start, binding))):
            raise InvalidRequestError(
                "next_token is not a token this API issued for this caller and query (or it was issued before an"
                " upgrade of the stack replaced the key that signs tokens)",
                remedy="pass next_token unchanged with the same account_id and status, or list again without it",
            )
        return start

    def _mac(self, start: str, binding: str) -> str:
        digest = hmac.new(self._key(), f"{binding}\n{start}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _role_without_path(arn: str) -> str:
    """arn:aws:iam::A:role/some/path/R -> arn:aws:iam::A:role/R (assumed-role ARNs carry no path)."""
    head, _, resource = arn.partition(":role/")
    return f"{head}:role/{resource.rsplit('/', 1)[-1]}" if resource else arn


def read_consent(settings: ApiSettings, source: Source) -> Consent | None:
    """The owner's marks on the database and its log group, read through the source role; None: no such cluster."""
    account = source_account(settings, source)
    database = account.rds.database(source)
    if database is None:
        return None
    return consent_of(database, account.logs.log_group_tags(log_group_arn(settings.partition, source)), source)


def status_path_of(source: Source) -> str:
    """Where the API answers about the source: /clusters/... for a DB cluster of either kind, /instances/... for a DB
    instance."""
    collection = "clusters" if kind_of(source.kind).is_cluster else "instances"
    return f"/{collection}/{source.account_id}/{source.region}/{source.cluster_id}"


def cluster_service(settings: ApiSettings) -> ClusterService:
    archive = archive_account(settings)  # clients kept by the container
    return ClusterService(
        archive.registry,
        archive.stepfunctions,
        settings.onboard_state_machine_arn,
        settings.offboard_state_machine_arn,
        tuple(arn.strip() for arn in settings.admin_principal_arns.split(",")),
        page_tokens=PageTokens(lambda: page_token_key(settings.region, settings.page_token_key_table)),
        policy=settings.audit_policy(settings.audit_reducers),
        consent=functools.partial(read_consent, settings),
    )


class ClusterService:
    def __init__(
        self,
        registry: Registry,
        stepfunctions: ArchiveStepFunctions,
        onboard_state_machine: str,
        offboard_state_machine: str,
        admin_principals: tuple[str, ...],
        page_tokens: PageTokens | None = None,
        policy: AuditPolicy | None = None,
        consent: Callable[[Source], Consent | None] | None = None,
    ) -> None:
        self._registry = registry
        self._consent = consent
        self._policy = policy
        self._page_tokens = page_tokens
        self._stepfunctions = stepfunctions
        self._machines = {"onboard": onboard_state_machine, "offboard": offboard_state_machine}
        self._admins = {_role_without_path(arn) for arn in admin_principals if arn}

    # ------------------------------------------------------------------ authorization
    def is_admin(self, caller: Caller) -> bool:
        return _role_without_path(caller.role_arn) in self._admins

    def authorize(self, caller: Caller, account_id: str) -> None:
        if caller.account_id != account_id and not self.is_admin(caller):
            raise ForbiddenError(
                f"caller account {caller.account_id} may act only on its own clusters, not on account {account_id}",
                remedy="call with credentials of that account, or be listed in AdminPrincipalArns",
            )

    def require_consent(self, source: Source) -> None:
        """ConsentRequiredError when the owner has not consented. Read-only. A source account that cannot be asked
        (its stack predates the API's trust, or it refuses) or a cluster that does not exist is left to the
        onboarding's Validate Request, which checks the same with the workflow's role and records why it stops."""
        if self._consent is None:
            return
        try:
            consent = self._consent(source)
        except (SourceAccessDeniedError, AwsRequestError):
            return
        if consent is not None and not consent.complete:
            raise ConsentRequiredError(
                f"{source}: {consent.explanation()}", commands=consent.grant_commands(), remedy=consent.remedy()
            )

    def check_audit_policy(
        self, caller: Caller, request: OnboardRequest | InstanceOnboardRequest
    ) -> dict[str, Any] | None:
        """AuditPolicyError unless the caller may ask this much (or this little) auditing; the admin's exception to
        record when the request is below the minimum. Read-only: checked before any replay or write."""
        policy = self._audit_policy()
        audit = policy.resolve(request.model_dump(mode="json"))
        admin = self.is_admin(caller)
        breaches = policy.breaches(audit)
        if breaches and not admin:
            raise AuditPolicyError(
                "; ".join(breach.message for breach in breaches),
                rule=breaches[0].rule,
                remedy="onboard at or above the minimum, or ask an admin (AdminPrincipalArns) for an exception",
            )
        source = request.source
        reductions = policy.reductions(audit, self._current_audit(source))
        if reductions and not admin:
            self._require_reducer(caller, source, "; ".join(reductions))
        if not breaches:
            return None
        return {"granted_by": caller.principal_arn, "granted_at": now(), "rules": [b.rule for b in breaches],
                "pgaudit_log": audit.pgaudit_log, "filter_pattern": audit.filter_pattern}  # fmt: skip

    def _audit_policy(self) -> AuditPolicy:
        if self._policy is None:  # fail closed: no request is judged without the policy
            raise ArchiverError("onboarding through the API needs the audit policy", remedy="use cluster_service()")
        return self._policy

    def _current_audit(self, source: Source) -> Audit | None:
        """What the source audits now by its registry item; None when it is not (or no longer) onboarded."""
        item = self._registry.get(source) or {}
        if not item.get("request") or item.get("status") == SourceStatus.OFFBOARDED:
            return None
        return self._audit_policy().resolve(item["request"])

    def _require_reducer(self, caller: Caller, source: Source, reduction: str) -> None:
        policy = self._audit_policy()
        if self.is_admin(caller) or policy.is_reducer(caller.principal_arn):
            return
        named = ", ".join(policy.reducer_role_names) or "none designated"
        raise AuditPolicyError(
            f"{reduction}: reducing the auditing of {source} needs an admin or a role its account designates "
            f"(AuditReducerRoleNames: {named}); {caller.principal_arn} is neither",
            rule="AuditReducerRoleNames",
            remedy="call as a session of a designated role of that account, or ask an admin (AdminPrincipalArns)",
        )

    # ------------------------------------------------------------------ operations
    def onboard(self, caller: Caller, request: OnboardRequest | InstanceOnboardRequest) -> Started:
        self.authorize(caller, request.account_id)
        exception = self.check_audit_policy(caller, request)
        source = request.source
        started = self.start("onboard", source, request.model_dump(mode="json", exclude_none=True))
        if not started.already_running:
            # Reconciliation honours an exception only for the request it was granted for; any other onboarding
            # (at or above the minimum) ends it.
            self._registry.set_fields(source, {EXCEPTION_FIELD: exception})
        return started

    def offboard(self, caller: Caller, request: AnyOffboardRequest) -> Started:
        self.get(caller, request.source)  # authorized, and onboarded once: an unknown source is 404, not an item
        reduction = "offboarding with restore (pgaudit removed)" if request.restore else "offboarding"
        self._require_reducer(caller, request.source, reduction)
        return self.start("offboard", request.source, request.model_dump(mode="json"))

    def start(self, operation: Literal["onboard", "offboard"], source: Source, payload: dict[str, Any]) -> Started:
        """Start the workflow unless one already runs for the source; then answer with the running one."""
        status_path = status_path_of(source)
        if not self._registry.claim(source, operation, payload):
            current = self._registry.get(source) or {}
            running_arn = current.get("execution_arn")
            if running_arn and self._stepfunctions.status(running_arn) == "RUNNING":
                running: Literal["onboard", "offboard"] = (
                    "offboard" if current["status"] == SourceStatus.OFFBOARDING else "onboard"
                )
                return Started(operation=running, source=source, execution_arn=running_arn,
                               console_url=current.get("console_url"), already_running=True,
                               status_path=status_path)  # fmt: skip
            if (
                not running_arn
                or self._claimer_runs(current)
                or not self._registry.claim(source, operation, payload, stale_execution=running_arn)
            ):
                # Claimed a moment ago by another request (or a running adoption) that has not started its
                # execution yet.
                return Started(operation=operation, source=source, execution_arn=None, console_url=None,
                               already_running=True, status_path=status_path)  # fmt: skip
        name = execution_name(source, uuid.uuid4().hex[:8])
        try:
            arn = self._stepfunctions.start(self._machines[operation], name, payload)
        except Exception:
            self._registry.release(source)
            raise
        url = console_url(arn)
        self._registry.record_execution(source, operation, arn, url, payload)
        return Started(operation=operation, source=source, execution_arn=arn, console_url=url, already_running=False,
                       status_path=status_path)  # fmt: skip

    def _claimer_runs(self, item: dict[str, Any]) -> bool:
        """Whether the adoption that claimed the source still runs: its onboarding may not have started yet."""
        claimed_by = item.get("claimed_by")
        return bool(claimed_by) and self._stepfunctions.status(str(claimed_by)) == "RUNNING"

    def adopt(
        self,
        caller: Caller,
        account_id: str,
        region: str,
        request: AdoptRequest,
        adopt_state_machine: str,
        limits: AccountLimits,
    ) -> Adoption:
        """Start the adopt workflow for the account's clusters in `region` (authorized first): one adoption of an
        account at a time (a dry run starts nothing and waits for none), within the account's starts a minute."""
        self.authorize(caller, account_id)
        payload = {"account_id": account_id, "region": region, "dry_run": request.dry_run}
        if request.mode is not None:
            payload["mode"] = request.mode
        unique = ("dry-run-" if request.dry_run else "") + uuid.uuid4().hex[:8]
        name = f"adopt-{account_id}-{region}-{unique}"
        arn = adopt_state_machine.replace(":stateMachine:", ":execution:") + f":{name}"
        retry_after = limits.take_start(account_id)
        if retry_after is not None:
            raise AccountRateLimitedError(
                f"account {account_id} has started its {limits.executions_per_minute} executions of this minute "
                "(AccountExecutionsPerMinute)",
                retry_after=retry_after,
            )
        if not request.dry_run:
            self._hold_adoption(limits, account_id, region, name, arn)
        try:
            started = self._stepfunctions.start(adopt_state_machine, name, payload)
        except Exception:
            if not request.dry_run:
                limits.drop_adoption(account_id, region, arn)
            raise
        return Adoption(account_id=account_id, region=region, dry_run=request.dry_run, adoption_id=name,
                        execution_arn=started, console_url=console_url(started),
                        status_path=adoption_status_path(account_id, name))  # fmt: skip

    def _hold_adoption(self, limits: AccountLimits, account_id: str, region: str, name: str, arn: str) -> None:
        """The account's adoption becomes `arn`, or AdoptionRunningError naming the one that runs."""
        over: str | None = None
        for _ in range(3):  # each round another caller won; the third time it is running, not ending
            if limits.hold_adoption(account_id, region, name, arn, over):
                return
            holder = limits.adoption(account_id, region)
            if holder is None:
                over = None  # given back meanwhile
                continue
            status = self._stepfunctions.status(holder["execution_arn"])
            starting = status is None and holder["held_seconds"] < ADOPTION_START_GRACE_SECONDS
            if status == "RUNNING" or starting:
                break
            over = holder["execution_arn"]
        else:
            holder = limits.adoption(account_id, region) or {"adoption_id": "unknown"}
        path = adoption_status_path(account_id, holder["adoption_id"])
        raise AdoptionRunningError(
            f"account {account_id} has adoption {holder['adoption_id']} running in {region}",
            adoption_id=holder["adoption_id"],
            status_path=path,
        )

    def adoption(self, caller: Caller, account_id: str, adoption_id: str, adopt_state_machine: str) -> dict[str, Any]:
        """Where an adoption stands: its execution, and the account's sources by status meanwhile."""
        self.authorize(caller, account_id)
        if not adoption_id_pattern(account_id).fullmatch(adoption_id):
            raise NotFoundError(f"no adoption {adoption_id} of account {account_id}",
                                remedy="use the adoption_id POST /accounts/{account_id}/adopt answered")  # fmt: skip
        arn = adopt_state_machine.replace(":stateMachine:", ":execution:") + f":{adoption_id}"
        execution = self._stepfunctions.describe(arn)
        if execution is None:
            raise NotFoundError(f"no adoption {adoption_id} of account {account_id}",
                                remedy="adoptions are kept 90 days after they end")  # fmt: skip
        sources: dict[str, int] = {}
        token = None
        while True:
            items, token = self._registry.list(account_id, None, 100, token)
            for item in items:
                sources[item["status"]] = sources.get(item["status"], 0) + 1
            if not token:
                break
        return {"adoption_id": adoption_id, "account_id": account_id, **execution, "account_sources": sources}

    def verify(self, caller: Caller, source: Source, reconcile_state_machine: str) -> Started:
        """Start the reconciliation workflow for one onboarded source."""
        self.get(caller, source)  # authorized, and in the registry
        arn = self._stepfunctions.start(
            reconcile_state_machine, execution_name(source, "verify-" + uuid.uuid4().hex[:8]),
            {"source": source.model_dump(mode="json")},
        )  # fmt: skip
        return Started(operation="verify", source=source, execution_arn=arn, console_url=console_url(arn),
                       already_running=False,
                       status_path=status_path_of(source))  # fmt: skip

    def get(self, caller: Caller, source: Source) -> dict[str, Any]:
        self.authorize(caller, source.account_id)
        item = self._registry.get(source)
        if item is None:
            collection = "clusters" if kind_of(source.kind).is_cluster else "instances"
            raise NotFoundError(f"{source} is not in the registry", remedy=f"onboard it with POST /{collection}")
        return item

    def list(self, caller: Caller, query: ClusterQuery) -> ClusterPage:
        account_id = query.account_id
        if not self.is_admin(caller):
            if account_id and account_id != caller.account_id:
                self.authorize(caller, account_id)
            account_id = caller.account_id  # a caller sees only its own account's clusters
        if self._page_tokens is None:
            raise ArchiverError("listing needs page tokens", remedy="build the service with cluster_service()")
        # The exact principal: a token handed to another principal, even of the same account, is refused.
        binding = json.dumps([caller.principal_arn, account_id, query.status])
        start = self._page_tokens.open(query.next_token, binding) if query.next_token else None
        items, token = self._registry.list(account_id, query.status, query.limit, start)
        return ClusterPage(items=items, next_token=self._page_tokens.seal(token, binding) if token else None)
