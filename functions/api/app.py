"""ApiFunction: the self-service REST API (IAM-signed). The handler checks what every request must be before
routing (a signed caller first, then a small body that is one JSON object, only the query parameters the route
takes); routes parse and authorize; ClusterService does the work."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from annotated_types import Interval
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.errors import (
    AccountRateLimitedError,
    AdoptionRunningError,
    AuditPolicyError,
    ConsentRequiredError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    Refusal,
    RegionNotArchivedError,
)
from pgaudit_archiver.handlers import function_handler
from pgaudit_archiver.kinds import DatabaseKind
from pgaudit_archiver.models import (
    AccountId,
    ClusterId,
    InstanceId,
    InstanceOffboardRequest,
    InstanceOnboardRequest,
    Model,
    OffboardRequest,
    OnboardRequest,
    Region,
    Source,
)
from pgaudit_archiver.service import (
    Adoption,
    AdoptRequest,
    Caller,
    ClusterPage,
    ClusterQuery,
    Started,
    cluster_service,
)
from pgaudit_archiver.settings import ApiSettings, get_settings
from pgaudit_archiver.status import SourceStatus
from pgaudit_archiver.steps.organization_api import (
    ORGANIZATION_ADOPTION_ID,
    OrganizationAdoption,
    OrganizationAdoptRequest,
    organization_adoption_status,
    require_admin,
    start_organization_adoption,
)

MAX_BODY_BYTES = 8 * 1024  # an onboarding request is a few hundred bytes
MAX_INTEGER_DIGITS = 64  # far above any number a request holds; Python refuses more than 4,300 with ValueError
IDEMPOTENCY_SECONDS = 24 * 3600
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,256}")  # visible ASCII: no spaces, control characters or Unicode look-alikes
CLUSTER_RESOURCE = "/clusters/{account_id}/{region}/{cluster_id}"
# DB instances are another identifier namespace than DB clusters (of either kind): their own routes.
INSTANCE_RESOURCE = "/instances/{account_id}/{region}/{instance_id}"
# Per route (API Gateway's method and resource): whether it takes a body, and the query parameters it takes.
ROUTES: dict[tuple[str, str], tuple[bool, frozenset[str]]] = {
    ("POST", "/clusters"): (True, frozenset()),
    ("GET", "/clusters"): (False, frozenset({"account_id", "status", "limit", "next_token"})),
    ("GET", CLUSTER_RESOURCE): (False, frozenset()),
    ("DELETE", CLUSTER_RESOURCE): (False, frozenset({"restore"})),
    ("POST", CLUSTER_RESOURCE + "/verify"): (False, frozenset()),
    ("POST", "/instances"): (True, frozenset()),
    ("GET", INSTANCE_RESOURCE): (False, frozenset()),
    ("DELETE", INSTANCE_RESOURCE): (False, frozenset({"restore"})),
    ("POST", INSTANCE_RESOURCE + "/verify"): (False, frozenset()),
    ("POST", "/accounts/{account_id}/adopt"): (True, frozenset()),
    ("GET", "/accounts/{account_id}/adoptions/{adoption_id}"): (False, frozenset()),
    ("POST", "/organization/adopt"): (True, frozenset()),
    ("GET", "/organization/adoptions/{adoption_id}"): (False, frozenset()),
}


def _decimal_query(value: object) -> object:
    # A query string is text: only plain ASCII digits are a number (not " 30 ", "3_0", "+3" or "٣").
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value, re.ASCII):
        return int(value)
    raise ValueError("must be a whole number written with the digits 0-9")


def _boolean_query(value: object) -> object:
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be true or false")


Account = Annotated[AccountId, Path(description="12-digit source account id")]
RegionPath = Annotated[Region, Path(description="the cluster's region")]
Cluster = Annotated[ClusterId, Path(description="DB cluster identifier")]
Instance = Annotated[InstanceId, Path(description="DB instance identifier")]
Limit = Annotated[int, Interval(ge=1, le=100), BeforeValidator(_decimal_query), Query()]
Restore = Annotated[bool, BeforeValidator(_boolean_query), Query(description="true or false")]

app = APIGatewayRestResolver(enable_validation=True)


def openapi_document() -> str:
    """The API's OpenAPI document (committed as api/openapi.json; a test keeps the two equal)."""
    return app.get_openapi_json_schema(
        title="pgaudit-archiver",
        version="1.0.0",
        description="Self-service onboarding of Aurora PostgreSQL clusters to the pgaudit archive. Every request is "
        "signed with AWS SigV4 (API Gateway IAM authorization); a caller acts on its own account's clusters. Going "
        "below the archive's minimum audit policy (MinimumPgauditLog, AllowedFilterPatterns) takes an admin, recorded "
        "as an exception; reducing auditing (offboarding, restore, fewer classes or another filter pattern than now, "
        "an immediate reboot) takes an admin or a role the account designates (AuditReducerRoleNames). A body "
        "is one JSON object (Content-Type application/json) of at most 8 KiB; identifiers are ASCII.",
    )


def _settings() -> ApiSettings:
    return get_settings(ApiSettings)


def _caller() -> Caller:
    identity = app.current_event.request_context.identity
    return Caller.signed(identity.account_id, identity.user_arn)


def _in_this_region(settings: ApiSettings, region: str) -> None:
    if region != settings.region:
        raise RegionNotArchivedError(
            f"region is {region} but this API serves {settings.region}; each region's databases (each cluster of a "
            "global database) are archived by that region's stack",
            remedy=f"call the pgaudit-archiver API deployed in {region} (deploy one there first if there is none: "
            "docs/deploy.md)",
        )


def _described(answers: dict[int, str]) -> dict[int, OpenAPIResponse]:
    """A route's documented answers (OpenAPI responses) from one line each."""
    return {status: OpenAPIResponse(description=description) for status, description in answers.items()}


def _accepted(started: Started) -> Response[Started]:
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=started)


def _idempotency_key() -> str | None:
    values = _header_values(app.current_event.raw_event, "idempotency-key")
    if not values:
        return None
    if len(values) > 1 or not IDEMPOTENCY_KEY.fullmatch(values[0]):
        raise InvalidRequestError(
            "the Idempotency-Key header must be one value of 1 to 256 visible ASCII characters",
            remedy="use a UUID",
        )
    return values[0]


AnswerT = TypeVar("AnswerT", bound=Model)


def _once(
    settings: ApiSettings, caller: Caller, body: dict[str, Any], answer: type[AnswerT], run: Callable[[], AnswerT]
) -> AnswerT:
    """`run()`, or with an Idempotency-Key the answer of its first run with this key and body. The key belongs to
    the exact principal that signed: sessions of one role are different people or jobs (SSO users share a
    permission set's role), and a retry that lost its key still finds the running execution."""
    key = _idempotency_key()
    if not key:
        return run()
    config = IdempotencyConfig(
        event_key_jmespath="[key, principal]",
        payload_validation_jmespath="body",
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )
    config.register_lambda_context(app.lambda_context)

    @idempotent_function(
        data_keyword_argument="call",
        persistence_store=archive_account(settings).idempotency_store,
        config=config,
    )
    def first(call: dict[str, Any]) -> dict[str, Any]:
        return run().model_dump(mode="json")

    return answer.model_validate(first(call={"key": key, "principal": caller.principal_arn, "body": body}))


ONBOARD_RESPONSES = _described(
    {
        202: "the onboarding started",
        409: "the owner has not consented: `grant` lists the owner's commands that grant it",
    }
)


@app.post("/clusters", summary="Onboard a cluster", responses=ONBOARD_RESPONSES)
def onboard(request: OnboardRequest) -> Response[Started]:
    return _onboard(request)


@app.post("/instances", summary="Onboard a DB instance (RDS for PostgreSQL)", responses=ONBOARD_RESPONSES)
def onboard_instance(request: InstanceOnboardRequest) -> Response[Started]:
    return _onboard(request)


def _onboard(request: OnboardRequest | InstanceOnboardRequest) -> Response[Started]:
    """The same authorization, audit policy, consent and idempotency for either kind of database."""
    settings = _settings()
    _in_this_region(settings, request.region)
    service, caller = cluster_service(settings), _caller()
    # Before any replay: a key never stands in for authorization (an admin may since have been removed).
    service.authorize(caller, request.account_id)
    service.check_audit_policy(caller, request)
    service.require_consent(request.source)
    body = request.model_dump(mode="json", exclude_none=True)
    return _accepted(_once(settings, caller, body, Started, lambda: service.onboard(caller, request)))


@app.get("/clusters", summary="List onboarded clusters")
def list_clusters(
    account_id: Annotated[AccountId | None, Query()] = None,
    status: Annotated[SourceStatus | None, Query()] = None,
    limit: Limit = 25,
    next_token: Annotated[
        str | None, Query(max_length=2048, description="opaque; valid only for the same caller, account_id, status")
    ] = None,
) -> ClusterPage:
    query = ClusterQuery(account_id=account_id, status=status, limit=limit, next_token=next_token)
    return cluster_service(_settings()).list(_caller(), query)


@app.get("/clusters/<account_id>/<region>/<cluster_id>", summary="One cluster's registry item")
def get_cluster(account_id: Account, region: RegionPath, cluster_id: Cluster) -> dict[str, Any]:
    source = Source(account_id=account_id, region=region, cluster_id=cluster_id)
    return cluster_service(_settings()).get(_caller(), source)


@app.delete("/clusters/<account_id>/<region>/<cluster_id>", summary="Offboard a cluster")
def offboard(
    account_id: Account, region: RegionPath, cluster_id: Cluster, restore: Restore = False
) -> Response[Started]:
    return _offboard(OffboardRequest(account_id=account_id, region=region, cluster_id=cluster_id, restore=restore))


@app.get("/instances/<account_id>/<region>/<instance_id>", summary="One DB instance's registry item")
def get_instance(account_id: Account, region: RegionPath, instance_id: Instance) -> dict[str, Any]:
    source = Source(account_id=account_id, region=region, cluster_id=instance_id, kind=DatabaseKind.DB_INSTANCE)
    return cluster_service(_settings()).get(_caller(), source)


@app.delete("/instances/<account_id>/<region>/<instance_id>", summary="Offboard a DB instance")
def offboard_instance(
    account_id: Account, region: RegionPath, instance_id: Instance, restore: Restore = False
) -> Response[Started]:
    request = InstanceOffboardRequest(account_id=account_id, region=region, instance_id=instance_id, restore=restore)
    return _offboard(request)


def _offboard(request: OffboardRequest | InstanceOffboardRequest) -> Response[Started]:
    """The same authorization, region check and errors for either kind of database."""
    settings = _settings()
    _in_this_region(settings, request.region)
    return _accepted(cluster_service(settings).offboard(_caller(), request))


@app.post("/clusters/<account_id>/<region>/<cluster_id>/verify", summary="Check a cluster for drift now")
def verify(account_id: Account, region: RegionPath, cluster_id: Cluster) -> Response[Started]:
    return _verify(Source(account_id=account_id, region=region, cluster_id=cluster_id))


@app.post("/instances/<account_id>/<region>/<instance_id>/verify", summary="Check a DB instance for drift now")
def verify_instance(account_id: Account, region: RegionPath, instance_id: Instance) -> Response[Started]:
    return _verify(Source(account_id=account_id, region=region, cluster_id=instance_id, kind=DatabaseKind.DB_INSTANCE))


def _verify(source: Source) -> Response[Started]:
    """The same authorization (the owner or an admin), region check and errors for either kind of database."""
    settings = _settings()
    _in_this_region(settings, source.region)
    return _accepted(cluster_service(settings).verify(_caller(), source, settings.reconcile_state_machine_arn))


@app.post(
    "/accounts/<account_id>/adopt",
    summary="Onboard the account's existing clusters",
    responses=_described(
        {
            202: "the adoption started (or, dry_run, its plan is being made)",
            409: "the account has an adoption running: its adoption_id and status_path",
            429: "the account started AccountExecutionsPerMinute executions this minute; see Retry-After",
        }
    ),
)
def adopt(account_id: Account, request: AdoptRequest) -> Response[Adoption]:
    settings = _settings()
    region = request.region or settings.region
    service, caller = cluster_service(settings), _caller()
    service.authorize(caller, account_id)  # before anything else, even a region check or a replay
    _in_this_region(settings, region)
    limits = archive_account(settings).account_limits
    # As POST /clusters, and the key bound to one account and body.
    body = {"route": "adopt", "account_id": account_id, **request.model_dump(mode="json"), "region": region}
    adoption = _once(
        settings,
        caller,
        body,
        Adoption,
        lambda: service.adopt(caller, account_id, region, request, settings.adopt_state_machine_arn, limits),
    )
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=adoption)


@app.get("/accounts/<account_id>/adoptions/<adoption_id>", summary="Where an adoption stands")
def get_adoption(
    account_id: Account, adoption_id: Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[a-z0-9-]+$")]
) -> dict[str, Any]:
    settings = _settings()
    return cluster_service(settings).adoption(_caller(), account_id, adoption_id, settings.adopt_state_machine_arn)


@app.post(
    "/organization/adopt",
    summary="Onboard the existing clusters of every member account of the AWS Organization (admins only)",
    responses={
        202: {"description": "the organization adoption started: one adoption per ACTIVE member account"},
        403: {"description": "the caller is not listed in AdminPrincipalArns"},
        409: {"description": "an organization adoption is running: its adoption_id and status_path"},
    },
)
def adopt_organization(request: OrganizationAdoptRequest) -> Response[OrganizationAdoption]:
    settings = _settings()
    region = request.region or settings.region
    service, caller = cluster_service(settings), _caller()
    require_admin(service, caller)  # before anything else, even a region check
    _in_this_region(settings, region)
    archive = archive_account(settings)
    adoption = start_organization_adoption(
        service, caller, region, request, settings.organization_adopt_state_machine_arn, archive.account_limits,
        archive.stepfunctions,
    )  # fmt: skip
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=adoption)


@app.get("/organization/adoptions/<adoption_id>", summary="Where an organization adoption stands (admins only)")
def get_organization_adoption(
    adoption_id: Annotated[str, Path(min_length=1, max_length=80, pattern=ORGANIZATION_ADOPTION_ID)],
) -> dict[str, Any]:
    settings = _settings()
    archive = archive_account(settings)
    return organization_adoption_status(
        cluster_service(settings), _caller(), adoption_id, settings.organization_adopt_state_machine_arn,
        archive.stepfunctions, archive.organization_adoptions, archive.registry,
    )  # fmt: skip


def _error(status: int, message: str, **extra: Any) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body={"message": message, **extra})


@app.exception_handler(ForbiddenError)
def forbidden(error: ForbiddenError) -> Response[dict[str, Any]]:
    return _error(403, str(error), rule="callers act only on their own account's clusters unless AdminPrincipalArns")


@app.exception_handler(AuditPolicyError)
def below_policy(error: AuditPolicyError) -> Response[dict[str, Any]]:
    return _error(403, str(error), rule=error.rule)


@app.exception_handler(NotFoundError)
def not_found(error: NotFoundError) -> Response[dict[str, Any]]:
    return _error(404, str(error))


@app.exception_handler(ConsentRequiredError)
def not_consented(error: ConsentRequiredError) -> Response[dict[str, Any]]:
    return _error(409, str(error), grant=error.commands)


@app.exception_handler(AdoptionRunningError)
def adoption_running(error: AdoptionRunningError) -> Response[dict[str, Any]]:
    return _error(409, str(error), adoption_id=error.adoption_id, status_path=error.status_path)


@app.exception_handler(AccountRateLimitedError)
def rate_limited(error: AccountRateLimitedError) -> Response[dict[str, Any]]:
    return Response(
        status_code=429,
        content_type=content_types.APPLICATION_JSON,
        body={"message": str(error), "retry_after_seconds": error.retry_after},
        headers={"Retry-After": str(error.retry_after)},
    )


@app.exception_handler(InvalidRequestError)
def invalid(error: InvalidRequestError) -> Response[dict[str, Any]]:
    return _error(400, str(error))


@app.exception_handler(RequestValidationError)
def unprocessable(error: RequestValidationError) -> Response[dict[str, Any]]:
    detail = [
        {
            "field": ".".join(str(part) for part in item.get("loc", ())),
            "problem": str(item.get("msg", item.get("type"))),
        }
        for item in error.errors()
    ]
    problems = "; ".join(f"{item['field']}: {item['problem']}" for item in detail)
    return _error(422, f"invalid request: {problems}", detail=detail)


@app.exception_handler(IdempotencyValidationError)
def key_reused(error: IdempotencyValidationError) -> Response[dict[str, Any]]:
    return _error(422, "the Idempotency-Key was used before with a different body; use a new key")


@app.exception_handler(IdempotencyAlreadyInProgressError)
def key_in_progress(error: IdempotencyAlreadyInProgressError) -> Response[dict[str, Any]]:
    return _error(409, "a request with this Idempotency-Key is still being processed; retry in a moment")


def _header_values(event: dict[str, Any], name: str) -> list[str]:
    """Every value of a header, whatever the case of its name (API Gateway keeps the client's)."""
    multi = event.get("multiValueHeaders") or {}
    values = [value for key, items in multi.items() if key.lower() == name for value in items or ()]
    if values:
        return values
    return [value for key, value in (event.get("headers") or {}).items() if key.lower() == name and value is not None]


def _checked_query(event: dict[str, Any], accepted: frozenset[str]) -> None:
    multi: dict[str, list[str]] = event.get("multiValueQueryStringParameters") or {}
    names = set(event.get("queryStringParameters") or {}) | set(multi)
    unknown = sorted(names - accepted)
    if unknown:
        takes = ", ".join(sorted(accepted)) or "none"
        raise Refusal(400, f"unknown query parameter {', '.join(map(repr, unknown))[:200]}; this route takes {takes}")
    repeated = sorted(name for name, values in multi.items() if len(values or ()) > 1)
    if repeated:
        raise Refusal(400, f"query parameter {', '.join(repeated)} is given more than once")


def _checked_media_type(event: dict[str, Any]) -> None:
    """application/json, compared case-insensitively, with at most a UTF-8 charset; no Content-Type reads as
    JSON. Form and multipart bodies are refused: the API documents JSON only."""
    values = _header_values(event, "content-type")
    if not values:
        return
    media, *parameters = values[0].split(";")
    charsets = [value.strip().strip('"').lower() for name, _, value in (p.partition("=") for p in parameters)
                if name.strip().lower() == "charset"]  # fmt: skip
    if (
        len(values) > 1
        or media.strip().lower() != "application/json"
        or len(charsets) != len(parameters)
        or any(charset not in ("utf-8", "utf8") for charset in charsets)
    ):
        raise Refusal(415, f"Content-Type {values[0][:100]!r} is not accepted; send application/json")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):  # parsers disagree on which duplicate wins
        raise ValueError(f"a key appears twice in one object ({sorted(k for k in keys if keys.count(k) > 1)[0]!r})")
    return dict(pairs)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"a number of {len(text)} digits; at most {MAX_INTEGER_DIGITS} are accepted")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(text: str) -> dict[str, Any]:
    if not text.strip():
        raise Refusal(400, "the body must be one JSON object; it is empty")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_bounded_int, parse_constant=_no_constant)
        json.dumps(value, ensure_ascii=False).encode()  # a lone surrogate ("\\ud800") is not text
    except (ValueError, RecursionError) as error:
        raise Refusal(400, f"the body is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", int: "number", float: "number", bool: str(value).lower()}.get(
            type(value), "null"
        )
        raise Refusal(400, f"the body must be one JSON object, not a JSON {kind}")
    return value


def checked_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the routes may read it, or Refusal. The signed caller is checked before anything else is
    read; a body is parsed here, once, strictly, and handed on as canonical JSON."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    try:
        Caller.signed(identity.get("accountId"), identity.get("userArn"))
    except ForbiddenError as error:
        raise Refusal(403, str(error)) from None
    body = event.get("body") or ""
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise Refusal(413, f"the body is {size} bytes; at most {MAX_BODY_BYTES} are accepted")
    route = ROUTES.get((event.get("httpMethod", ""), event.get("resource", "")))
    if route is None:
        return event  # the resolver answers for a route it does not know
    takes_body, query = route
    _checked_query(event, query)
    if not takes_body:
        if body:
            raise Refusal(400, f"{event['httpMethod']} {event['resource']} takes no body")
        return event
    _checked_media_type(event)
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Refusal(400, "the body is not base64-encoded UTF-8 text") from None
    canonical = json.dumps(_json_object(body))
    headers = {key: value for key, value in (event.get("headers") or {}).items() if key.lower() != "content-type"}
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    return {
        **event, "body": canonical, "isBase64Encoded": False,
        "headers": {**headers, "Content-Type": content_types.APPLICATION_JSON},
        "multiValueHeaders": {**multi, "Content-Type": [content_types.APPLICATION_JSON]},
    }  # fmt: skip


@function_handler(ApiSettings, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext, settings: ApiSettings) -> dict[str, Any]:
    try:
        checked = checked_event(event)
    except Refusal as refusal:
        return {
            "statusCode": refusal.status,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"message": str(refusal)}),
        }
    return app.resolve(checked, context)
