"""ApiFunction: the self-service REST API (IAM-signed). Routes parse and authorize; ClusterService does the work."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.accounts import archive_account
from pgaudit_archiver.errors import InvalidRequestError
from pgaudit_archiver.handlers import function_handler
from pgaudit_archiver.models import CLUSTER_ID_PATTERN, REGION_PATTERN, OffboardRequest, OnboardRequest, Source
from pgaudit_archiver.service import (
    Caller,
    ClusterPage,
    ClusterQuery,
    ForbiddenError,
    NotFoundError,
    Started,
    cluster_service,
)
from pgaudit_archiver.settings import ApiSettings, get_settings

MAX_BODY_BYTES = 8 * 1024  # an onboarding request is a few hundred bytes
IDEMPOTENCY_SECONDS = 24 * 3600
Status = Literal["onboarding", "active", "pending-reboot", "drifted", "failed", "offboarding", "offboarded"]
Account = Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit source account id")]
Region = Annotated[str, Path(pattern=REGION_PATTERN, description="the cluster's region")]
Cluster = Annotated[str, Path(pattern=CLUSTER_ID_PATTERN, max_length=63, description="DB cluster identifier")]

app = APIGatewayRestResolver(enable_validation=True)


def openapi_document() -> str:
    """The API's OpenAPI document (committed as api/openapi.json; a test keeps the two equal)."""
    return app.get_openapi_json_schema(
        title="pgaudit-archiver",
        version="1.0.0",
        description="Self-service onboarding of Aurora PostgreSQL clusters to the pgaudit archive. Every request is "
        "signed with AWS SigV4 (API Gateway IAM authorization); a caller acts on its own account's clusters.",
    )


def _settings() -> ApiSettings:
    return get_settings(ApiSettings)


def _caller() -> Caller:
    identity = app.current_event.request_context.identity
    if not identity.account_id or not identity.user_arn:
        raise ForbiddenError("the request carries no signed AWS identity", remedy="sign it with SigV4 (IAM auth)")
    return Caller(account_id=identity.account_id, principal_arn=identity.user_arn)


def _in_this_region(settings: ApiSettings, region: str) -> None:
    if region != settings.region:
        raise InvalidRequestError(
            f"region is {region} but this API serves {settings.region}",
            remedy=f"call the pgaudit-archiver API deployed in {region}",
        )


def _accepted(started: Started) -> Response[Started]:
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=started)


@app.post("/clusters", summary="Onboard a cluster", responses={202: {"description": "the onboarding started"}})
def onboard(request: OnboardRequest) -> Response[Started]:
    settings = _settings()
    _in_this_region(settings, request.region)
    service, caller = cluster_service(settings), _caller()
    key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get("idempotency-key")
    if not key:
        return _accepted(service.onboard(caller, request))
    if len(key) > 256:
        raise InvalidRequestError("the Idempotency-Key header is longer than 256 characters")
    config = IdempotencyConfig(
        event_key_jmespath="[key, caller]",
        payload_validation_jmespath="body",
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )
    config.register_lambda_context(app.lambda_context)

    @idempotent_function(
        data_keyword_argument="call",
        persistence_store=archive_account(settings).idempotency_store,
        config=config,
    )
    def start(call: dict[str, Any]) -> dict[str, Any]:
        return service.onboard(caller, request).model_dump(mode="json")

    body = request.model_dump(mode="json", exclude_none=True)
    return _accepted(Started.model_validate(start(call={"key": key, "caller": caller.account_id, "body": body})))


@app.get("/clusters", summary="List onboarded clusters")
def list_clusters(
    account_id: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> ClusterPage:
    query = ClusterQuery(account_id=account_id, status=status, limit=limit, next_token=next_token)
    return cluster_service(_settings()).list(_caller(), query)


@app.get("/clusters/<account_id>/<region>/<cluster_id>", summary="One cluster's registry item")
def get_cluster(account_id: Account, region: Region, cluster_id: Cluster) -> dict[str, Any]:
    source = Source(account_id=account_id, region=region, cluster_id=cluster_id.lower())
    return cluster_service(_settings()).get(_caller(), source)


@app.delete("/clusters/<account_id>/<region>/<cluster_id>", summary="Offboard a cluster")
def offboard(
    account_id: Account, region: Region, cluster_id: Cluster, restore: Annotated[bool, Query()] = False
) -> Response[Started]:
    settings = _settings()
    _in_this_region(settings, region)
    request = OffboardRequest(account_id=account_id, region=region, cluster_id=cluster_id, restore=restore)
    return _accepted(cluster_service(settings).offboard(_caller(), request))


@app.post("/clusters/<account_id>/<region>/<cluster_id>/verify", summary="Check a cluster for drift now")
def verify(account_id: Account, region: Region, cluster_id: Cluster) -> Response[Started]:
    settings = _settings()
    _in_this_region(settings, region)
    source = Source(account_id=account_id, region=region, cluster_id=cluster_id.lower())
    return _accepted(cluster_service(settings).verify(_caller(), source, settings.reconcile_state_machine_arn))


def _error(status: int, message: str, **extra: Any) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body={"message": message, **extra})


@app.exception_handler(ForbiddenError)
def forbidden(error: ForbiddenError) -> Response[dict[str, Any]]:
    return _error(403, str(error), rule="callers act only on their own account's clusters unless AdminPrincipalArns")


@app.exception_handler(NotFoundError)
def not_found(error: NotFoundError) -> Response[dict[str, Any]]:
    return _error(404, str(error))


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


@function_handler(ApiSettings, correlation_id_path="requestContext.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext, settings: ApiSettings) -> dict[str, Any]:
    body = event.get("body") or ""
    if len(body.encode()) > MAX_BODY_BYTES:
        return {
            "statusCode": 413,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": f'{{"message": "the body is {len(body.encode())} bytes; at most {MAX_BODY_BYTES} are accepted"}}',
        }
    return app.resolve(event, context)
