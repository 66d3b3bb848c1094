"""pgaudit-archiver: the command line of the self-service API (requests signed with the caller's AWS credentials).

It knows nothing of the local emulation beyond its address: `--endpoint http://127.0.0.1:PORT` (the server of
`python -m local serve`) is called unsigned, with the identity that server was told to use or `--caller-arn`.
`python -m local cli ...` parses with `build_parser()` and calls `run()` with a transport of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol, TextIO
from urllib.parse import quote, urlencode, urlsplit

from pgaudit_archiver.status import RUNNING_STATUSES, SourceStatus

DESCRIPTION = (
    "The command line of the pgaudit-archiver self-service API. Requests are signed (SigV4) with your AWS "
    "credentials; against `python -m local serve` (--endpoint http://127.0.0.1:PORT) they are sent unsigned."
)
PAGE_SIZE = "100"  # the most GET /clusters returns at once
API_URL_ENV = "PGAUDIT_ARCHIVER_API_URL"
LOCAL_HINT = (
    "--local is not part of the installed command: in a clone of the repository start `python -m local serve` "
    "and pass --endpoint http://127.0.0.1:PORT, or run `python -m local cli ...` (one command, a fresh emulation)"
)
# The identity the local server acts as for one request (it has no SigV4 to check); AWS never reads it.
LOCAL_CALLER_HEADER = "X-Pgaudit-Archiver-Caller-Arn"
LOCAL_ABOUT_PATH = "/_local"  # the local server's own route: its region and default caller
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# The API's own patterns (api/openapi.json; a unit test keeps them equal), checked here to fail before a call.
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
CLUSTER_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,62}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
# execute-api's host names the API's region: https://{id}.execute-api.{region}.amazonaws.com/{stage}
EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")
HTTP_TIMEOUT_SECONDS = 30
WAIT_POLLS = 3600


class CliError(Exception):
    """A failure the user can act on: printed as one line, exit status 1."""


class Transport(Protocol):
    def __call__(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]: ...  # fmt: skip


def _http(url: str, method: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            text = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        text, status = error.read(), error.code
    except (urllib.error.URLError, OSError) as error:  # refused, unknown host, TLS, timeout
        reason = getattr(error, "reason", error)
        host = urlsplit(url)._replace(path="", query="").geturl()
        raise CliError(
            f"cannot reach the API at {host}: {reason}. Check --endpoint, --stack or ${API_URL_ENV}"
        ) from None
    try:
        return status, json.loads(text or b"null")
    except ValueError:
        return status, {"message": text.decode(errors="replace").strip() or f"HTTP {status} with no body"}


class SignedHttp:
    """HTTPS to the API with a SigV4 signature from the caller's credentials (botocore's default chain)."""

    def __init__(self, api_url: str, region: str) -> None:
        import boto3  # noqa: PLC0415 - only a signed call needs it (the local endpoint does not)
        from botocore.exceptions import BotoCoreError  # noqa: PLC0415

        self.api_url = api_url.rstrip("/")
        self.region = region
        try:
            credentials = boto3.Session(region_name=region).get_credentials()
            self.credentials = credentials.get_frozen_credentials() if credentials else None
        except BotoCoreError as error:  # a broken profile, an expired SSO session
            raise CliError(f"cannot read AWS credentials: {error}") from None
        if self.credentials is None:
            raise CliError(
                "no AWS credentials found: run `aws configure` or `aws sso login`, set AWS_PROFILE, "
                "or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables"
            )

    def __call__(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415

        url, data = _url_and_data(self.api_url, path, body, query)
        request = AWSRequest(
            method=method, url=url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
        )
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(request)
        return _http(url, method, data, dict(request.headers.items()))


def _url_and_data(api_url: str, path: str, body: Any, query: dict[str, str] | None) -> tuple[str, bytes | None]:
    url = api_url + path + (f"?{urlencode(query)}" if query else "")
    return url, (json.dumps(body).encode() if body is not None else None)


class LocalHttp:
    """The local server of `python -m local serve`: unsigned, the caller named in a header when chosen."""

    def __init__(self, api_url: str, caller_arn: str | None) -> None:
        self.api_url, self.caller_arn = api_url.rstrip("/"), caller_arn

    def __call__(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        url, data = _url_and_data(self.api_url, path, body, query)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.caller_arn:
            sent[LOCAL_CALLER_HEADER] = self.caller_arn
        return _http(url, method, data, sent)


def is_local(api_url: str) -> bool:
    parts = urlsplit(api_url)
    return parts.scheme == "http" and parts.hostname in LOCAL_HOSTS


def api_url_from_stack(stack: str, region: str) -> str:
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        stacks = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:  # ValidationError: "Stack with id X does not exist"
        raise CliError(f"cannot read stack {stack} in {region}: {error.response['Error']['Message']}") from None
    except BotoCoreError as error:  # no credentials, no network
        raise CliError(f"cannot read stack {stack} in {region}: {error}") from None
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == "ApiUrl":
            return str(output["OutputValue"])
    raise CliError(f"stack {stack} in {region} has no output ApiUrl: is it the pgaudit-archiver stack?")


# ---------------------------------------------------------------------------------------------- arguments
class OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments: one line naming the problem and where help is, exit status 2 (argparse's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not pattern.fullmatch(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {what}")
        return text

    check.__name__ = what  # argparse names the type in its message
    return check


account_id = _matching(ACCOUNT_ID, "account id (12 digits)")
cluster_id = _matching(
    CLUSTER_ID, "DB cluster identifier (a letter, then letters, digits and hyphens; at most 63 characters)"
)
region_name = _matching(REGION, "region name (e.g. eu-west-1)")


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: retention is at least 1 day")
    return value


def _target(parser: argparse.ArgumentParser, *, cluster: bool = True, instance: bool = False) -> None:
    parser.add_argument("account_id", type=account_id, help="12-digit id of the cluster's AWS account")
    if cluster:
        parser.add_argument(
            "cluster_id", type=cluster_id, help="the DB cluster identifier (with --instance, the DB instance's)"
        )
    if instance:
        # DB instance identifiers are another namespace than DB clusters': the API's /instances routes.
        parser.add_argument(
            "--instance", action="store_true", help="the identifier is an RDS for PostgreSQL DB instance's (/instances)"
        )


def _organization_commands(commands: Any) -> None:
    organization = commands.add_parser(
        "adopt-organization", help="adopt every member account of the AWS Organization (admins only)"
    )
    organization.add_argument(
        "--mode", choices=["all", "tagged"],
        help="all, or only clusters tagged pgaudit-archiver=enabled (default: the deployment's AutoOnboard)",
    )  # fmt: skip
    organization.add_argument("--dry-run", action="store_true", help="each account's adoption lists its plan only")
    organization_status = commands.add_parser(
        "organization-adoption", help="where an organization's adoption stands (the id adopt-organization printed)"
    )
    organization_status.add_argument("adoption_id", help="e.g. adopt-organization-eu-west-1-...")


def build_parser(prog: str = "pgaudit-archiver") -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog=prog, description=DESCRIPTION)
    parser.set_defaults(prog=prog)  # what a hint printed later tells the user to type
    where = parser.add_argument_group("where the API is")
    where.add_argument(
        "--endpoint", "--api-url", dest="api_url", default=os.environ.get(API_URL_ENV), metavar="URL",
        help=f"the stack's ApiUrl output, or http://127.0.0.1:PORT for `python -m local serve` (or ${API_URL_ENV})",
    )  # fmt: skip
    where.add_argument("--stack", help="read ApiUrl from this CloudFormation stack's outputs (e.g. pgaudit-archiver)")
    where.add_argument(
        "--region", type=region_name, default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help="the clusters' region, which is the API's (default: AWS_REGION, the ApiUrl's, or the local server's)",
    )  # fmt: skip
    where.add_argument(
        "--caller-arn", metavar="ARN",
        help="local endpoint only: act as this principal (default: the one `python -m local serve` was started with)",
    )  # fmt: skip
    parser.add_argument(
        "--output", choices=["table", "json"], default="table", help="table (for people, the default) or json"
    )
    # Kept only to say where --local went (the emulation stays in the repository, out of the product).
    parser.add_argument("--local", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineErrorParser)

    onboard = commands.add_parser("onboard", help="onboard a cluster (POST /clusters)")
    _target(onboard, instance=True)
    onboard.add_argument("--pgaudit-log", metavar="CLASSES", help="pgaudit.log classes, e.g. ddl,role,write")
    onboard.add_argument(
        "--reboot", choices=["deferred", "immediate"],
        help="deferred (default: at the next maintenance) or immediate (needs AuditReducerRoleNames or an admin)",
    )  # fmt: skip
    onboard.add_argument(
        "--log-retention-days", type=_days, metavar="DAYS", help="retention of the postgresql log group"
    )
    onboard.add_argument(
        "--filter-pattern", metavar="PATTERN", help="CloudWatch Logs filter pattern of the subscription"
    )
    onboard.add_argument("--secret-arn", metavar="ARN", help="the database user's secret for the Data API")
    onboard.add_argument("--database", help="the database pgaudit is created in")
    onboard.add_argument(
        "--canary", action=argparse.BooleanOptionalAction, default=None,
        help="reconciliation runs a marked SELECT and times its arrival (left out: the deployment's DefaultCanary)",
    )  # fmt: skip
    onboard.add_argument(
        "--revoke-plpgsql", action="store_true",
        help="revoke USAGE on plpgsql from PUBLIC, so that no database user can RAISE a forged AUDIT line",
    )  # fmt: skip
    onboard.add_argument("--idempotency-key", metavar="KEY", help="retrying with the same key starts nothing new")
    onboard.add_argument("--wait", action="store_true", help="show progress until the onboarding ends")

    status = commands.add_parser("status", help="where one cluster stands (its registry item)")
    _target(status, instance=True)

    listing = commands.add_parser("list", help="onboarded clusters, every page")
    listing.add_argument("--account-id", type=account_id, help="one account's clusters (default: all you may see)")
    listing.add_argument(
        "--status", choices=[status.value for status in SourceStatus], help="only clusters in this status"
    )

    verify = commands.add_parser("verify", help="check a cluster for drift now (a reconciliation of that cluster)")
    _target(verify, instance=True)
    verify.add_argument("--wait", action="store_true", help="wait for the check and show what it found")

    offboard = commands.add_parser("offboard", help="stop archiving a cluster (archived objects stay)")
    _target(offboard, instance=True)
    offboard.add_argument(
        "--restore", action="store_true",
        help="also turn the log export off and re-attach the original parameter group (reduces auditing)",
    )  # fmt: skip
    offboard.add_argument("--wait", action="store_true", help="show progress until the offboarding ends")

    adopt = commands.add_parser("adopt", help="onboard an account's existing clusters (AutoOnboard's tag rules)")
    _target(adopt, cluster=False)
    adopt.add_argument(
        "--mode", choices=["all", "tagged"],
        help="all, or only clusters tagged pgaudit-archiver=enabled (default: the deployment's AutoOnboard)",
    )  # fmt: skip
    adopt.add_argument("--dry-run", action="store_true", help="list what would be onboarded and why the rest is not")
    adopt.add_argument("--idempotency-key", metavar="KEY", help="retrying with the same key starts nothing new")
    adopt.add_argument("--wait", action="store_true", help="show progress until the adoption ends, then its table")

    adoption = commands.add_parser("adoption", help="where an adoption stands (the id `adopt` printed)")
    _target(adoption, cluster=False)
    adoption.add_argument("adoption_id", help="e.g. adopt-111122223333-eu-west-1-...")
    adoption.add_argument("--wait", action="store_true", help="show progress until the adoption ends")

    _organization_commands(commands)
    report = commands.add_parser(
        "report", help="the fleet at a glance: sources by status, the drifted and failed ones, the oldest canary"
    )
    report.add_argument(
        "--account", "--account-id", dest="account_id", type=account_id, help="one account's sources (default: all)"
    )
    report.add_argument("--json", action="store_true", help="the same as --output json")
    return parser


# ---------------------------------------------------------------------------------------------- commands
def run(
    arguments: argparse.Namespace,
    call: Transport,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
) -> int:
    """Runs one command; an API error is raised as CliError (main prints it as one line)."""
    as_json = arguments.output == "json" or getattr(arguments, "json", False)
    command = arguments.command
    if command in ("onboard", "status", "verify", "offboard"):
        return _cluster_command(arguments, call, out, sleep, as_json)
    if command == "adopt":
        return _adopt(arguments, call, out, sleep, as_json)
    if command == "adoption":
        path = f"/accounts/{arguments.account_id}/adoptions/{quote(arguments.adoption_id, safe='')}"
        return _adoption(call, path, out, sleep, as_json, wait=arguments.wait)
    if command == "adopt-organization":
        body = {key: value for key, value in (("region", arguments.region), ("mode", arguments.mode)) if value}
        answer = _ok(*call("POST", "/organization/adopt", body={**body, **({"dry_run": True} if arguments.dry_run
                                                                            else {})}))  # fmt: skip
        if as_json:
            _json(answer, out)
        else:
            print(f"organization adoption {answer['adoption_id']} started; watch it: {answer['console_url']}", file=out)
            print(f"later: {_prog(arguments)} organization-adoption {answer['adoption_id']}", file=out)
        return 0
    if command == "organization-adoption":
        answer = _ok(*call("GET", f"/organization/adoptions/{quote(arguments.adoption_id, safe='')}"))
        if as_json:
            _json(answer, out)
        else:
            for key, value in answer.items():
                print(f"{key:<20} {json.dumps(value) if isinstance(value, dict | list) else value}", file=out)
        return 0
    if command == "report":
        items = _all_items(call, {"account_id": arguments.account_id, "limit": PAGE_SIZE})
        fleet = report(items, arguments.account_id, now())
        if as_json:
            _json(fleet, out)
        else:
            _print_report(fleet, out)
        return 0
    items = _all_items(call, {"account_id": arguments.account_id, "status": arguments.status})
    if as_json:
        _json(items, out)
        return 0
    _table(
        [(item["account_id"], item["region"], item["cluster_id"], item["status"], item.get("updated_at", ""))
         for item in items],
        ("ACCOUNT", "REGION", "CLUSTER", "STATUS", "UPDATED"), out,
    )  # fmt: skip
    print(f"{len(items)} cluster(s)", file=out)
    return 0


def _cluster_command(
    arguments: argparse.Namespace, call: Transport, out: TextIO, sleep: Callable[[float], None], as_json: bool
) -> int:
    """onboard, status, verify, offboard: one cluster, in the API's region."""
    if not arguments.region:
        raise CliError("no region: pass --region or set AWS_REGION")
    instance = getattr(arguments, "instance", False)
    collection, id_field = ("/instances", "instance_id") if instance else ("/clusters", "cluster_id")
    cluster_path = f"{collection}/" + "/".join(
        quote(part, safe="") for part in (arguments.account_id, arguments.region, arguments.cluster_id)
    )
    if arguments.command == "onboard":
        body: dict[str, Any] = {
            "account_id": arguments.account_id, "region": arguments.region, id_field: arguments.cluster_id
        }  # fmt: skip
        for option in (
            "pgaudit_log", "reboot", "log_retention_days", "filter_pattern", "secret_arn", "database", "canary"
        ):  # fmt: skip
            if getattr(arguments, option) is not None:
                body[option] = getattr(arguments, option)
        for flag in ("revoke_plpgsql",):
            if getattr(arguments, flag):
                body[flag] = True
        headers = {"Idempotency-Key": arguments.idempotency_key} if arguments.idempotency_key else None
        answer = _ok(*call("POST", collection, body=body, headers=headers))
        return _started(answer, arguments.wait, call, out, sleep, as_json)
    if arguments.command == "offboard":
        query = {"restore": "true"} if arguments.restore else None
        answer = _ok(*call("DELETE", cluster_path, query=query))
        return _started(answer, arguments.wait, call, out, sleep, as_json)
    if arguments.command == "verify":
        before = _ok(*call("GET", cluster_path)).get("last_verification") or {}
        answer = _ok(*call("POST", cluster_path + "/verify"))
        return _verified(answer, before.get("checked_at"), arguments.wait, call, out, sleep, as_json)
    item = _ok(*call("GET", cluster_path))
    if as_json:
        _json(item, out)
    else:
        _print_item(item, out)
    return 0


def _adopt(
    arguments: argparse.Namespace, call: Transport, out: TextIO, sleep: Callable[[float], None], as_json: bool
) -> int:
    body: dict[str, Any] = {"region": arguments.region} if arguments.region else {}
    if arguments.mode:
        body["mode"] = arguments.mode
    if arguments.dry_run:
        body["dry_run"] = True
    headers = {"Idempotency-Key": arguments.idempotency_key} if arguments.idempotency_key else None
    answer = _ok(*call("POST", f"/accounts/{arguments.account_id}/adopt", body=body, headers=headers))
    if as_json and not (arguments.wait or arguments.dry_run):
        _json(answer, out)
        return 0
    if not as_json:
        print(f"adoption {answer['adoption_id']} started", file=out)
        print(f"watch it: {answer['console_url']}", file=out)
    # A dry run's answer is its plan: always waited for.
    if not (arguments.wait or arguments.dry_run):
        print(f"later: {_prog(arguments)} adoption {arguments.account_id} {answer['adoption_id']}", file=out)
        return 0
    return _adoption(call, answer["status_path"], out, sleep, as_json, wait=True)


def _prog(arguments: argparse.Namespace) -> str:
    return str(getattr(arguments, "prog", None) or "pgaudit-archiver")


def _ok(status: int, answer: Any) -> Any:
    """The answer of a 2xx; otherwise CliError with the API's own message (and what else it says to do)."""
    if status < 400:
        return answer
    body = answer if isinstance(answer, dict) else {"message": answer}
    message = str(body.get("message") or body.get("Message") or body)
    grant = [command for command in body.get("grant") or [] if command not in message]
    if grant:  # the owner's commands, when the message does not already carry them
        message += ". The owner grants consent with: " + " && ".join(grant)
    if body.get("adoption_id") and body["adoption_id"] not in message:
        message += f" (adoption {body['adoption_id']})"
    raise CliError(f"error {status}: {message}")


def _json(document: Any, out: TextIO) -> None:
    print(json.dumps(document, indent=2, default=str), file=out)


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...], out: TextIO) -> None:
    cells = [header, *[tuple("" if cell is None else str(cell) for cell in row) for row in rows]]
    widths = [max(len(row[index]) for row in cells) for index in range(len(header))]
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out)


def _print_item(item: dict[str, Any], out: TextIO) -> None:
    """A registry item for people: where it stands, what it has, what is left to do."""
    rows: list[tuple[str, Any]] = [
        ("cluster", f"{item.get('cluster_id')}  (account {item.get('account_id')}, {item.get('region')})"),
        ("status", item.get("status")),
        ("updated", item.get("updated_at")),
    ]
    verification = item.get("last_verification") or {}
    if verification:
        drift = verification.get("drift") or []
        rows.append(("verified", f"{verification.get('checked_at')}: {'; '.join(drift) if drift else 'no drift'}"))
    rows.append(("delivered", item.get("last_delivery") or "no audit record archived yet"))
    canary = item.get("canary") or {}
    if canary.get("sent_at"):
        arrived = f"arrived after {canary.get('delay_seconds')} s" if canary.get("arrived_at") else "not arrived yet"
        rows.append(("canary", f"sent {canary['sent_at']}, {arrived}"))
    if item.get("execution_arn"):
        rows.append(("execution", item["execution_arn"]))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}", file=out)
    _details(item, out)


def _details(item: dict[str, Any], out: TextIO) -> None:
    for change in item.get("last_changes") or []:
        print(f"  - {change}", file=out)
    for name, value in (item.get("resources") or {}).items():
        print(f"  {name}: {value}", file=out)
    for pending in item.get("pending") or []:
        print(f"  pending: {pending}", file=out)
    for action in item.get("actions_required") or []:
        print(f"  to do: {action}", file=out)
    if item.get("status") == "failed":
        error = item.get("last_error") or {}
        print(f"  failed at {error.get('step')}: {error.get('message')}", file=out)


def _adoption(
    call: Transport, path: str, out: TextIO, sleep: Callable[[float], None], as_json: bool, *, wait: bool
) -> int:
    """Where an adoption stands; with `wait`, progress until it ends (the account's sources by status), then
    its table: the totals, and each database planned, skipped (why) or failed (why)."""
    last = None
    for _ in range(WAIT_POLLS):
        answer = _ok(*call("GET", path))
        sources = answer.get("account_sources") or {}
        onboarded = sources.get("active", 0) + sources.get("pending-reboot", 0)
        progress = (f"{answer['status'].lower()}: {onboarded} onboarded, {sources.get('failed', 0)} failed, "
                    f"{sources.get('onboarding', 0)} onboarding (the account's sources)")  # fmt: skip
        if progress != last and not as_json:
            print(progress, file=out)
            last = progress
        if answer["status"] != "RUNNING" or not wait:
            break
        sleep(5)
    if as_json:
        _json(answer, out)
        return 0 if answer["status"] in ("RUNNING", "SUCCEEDED") else 1
    if answer["status"] == "RUNNING":
        return 0
    result = answer.get("output")
    if answer["status"] != "SUCCEEDED" or not result:
        print(f"adoption {answer['status']}: {answer.get('error')}: {answer.get('cause')}", file=out)
        return 1
    totals = result["totals"]
    # DB clusters (Aurora and Multi-AZ) and DB instances are counted apart, as the adoption counts them (one that
    # ended before DB instances were adopted has no instances).
    print(f"{'clusters':<10}{'instances':>10}{'planned':>9}{'onboarded':>11}{'failed':>8}{'skipped':>9}", file=out)
    print(f"{totals['clusters']:<10}{totals.get('instances', 0):>10}{totals['planned']:>9}{totals['onboarded']:>11}"
          f"{totals['failed']:>8}{totals['skipped']:>9}", file=out)  # fmt: skip
    action = "would onboard" if result.get("dry_run") else "onboarded"
    rows = [(cluster, action, "") for cluster in result.get("planned", [])]
    rows += [(skipped["cluster_id"], "skipped", skipped["reason"]) for skipped in result.get("skipped", [])]
    rows += [(failure["cluster_id"], "failed", f"{failure.get('error')}: {failure.get('cause')}")
             for failure in result.get("failures", [])]  # fmt: skip
    if rows:
        print(file=out)
        _table(rows, ("DATABASE", "RESULT", "WHY"), out)  # a DB instance's is its key: instance--<id>
    return 1 if totals["failed"] else 0


def _all_items(call: Transport, query: dict[str, str | None]) -> list[dict[str, Any]]:
    """Every page of GET /clusters (CliError on the first refusal)."""
    parameters = {key: value for key, value in query.items() if value}
    items: list[dict[str, Any]] = []
    while True:
        answer = _ok(*call("GET", "/clusters", query=parameters or None))
        items += answer["items"]
        if not answer.get("next_token"):
            return items
        parameters["next_token"] = answer["next_token"]


def _started(
    answer: Any, wait: bool, call: Transport, out: TextIO, sleep: Callable[[float], None], as_json: bool
) -> int:
    if not as_json:
        word = "already running" if answer["already_running"] else "started"
        print(f"{answer['operation']} of {answer['source']['cluster_id']} {word}: {answer['execution_arn']}", file=out)
        if answer.get("console_url"):
            print(f"watch it: {answer['console_url']}", file=out)
    if not wait:
        if as_json:
            _json(answer, out)
        return 0
    last = None
    item: dict[str, Any] = {}
    for _ in range(WAIT_POLLS):
        item = _ok(*call("GET", answer["status_path"]))
        if item["status"] != last and not as_json:
            print(f"status: {item['status']}", file=out)
            last = item["status"]
        if item["status"] not in RUNNING_STATUSES:
            break
        sleep(2)
    if as_json:
        _json(item, out)
    else:
        _details(item, out)
    return 1 if item.get("status") == "failed" else 0


def _verified(
    answer: Any, before: str | None, wait: bool, call: Transport, out: TextIO, sleep: Callable[[float], None],
    as_json: bool,
) -> int:  # fmt: skip
    """A verify started; with `wait`, polls until the item's last_verification is newer than before, then shows it."""
    if not as_json:
        word = "already running" if answer["already_running"] else "started"
        print(f"verify of {answer['source']['cluster_id']} {word}: {answer['execution_arn']}", file=out)
    if not wait:
        if as_json:
            _json(answer, out)
        return 0
    for _ in range(WAIT_POLLS):
        item = _ok(*call("GET", answer["status_path"]))
        verification = item.get("last_verification") or {}
        if verification.get("checked_at") and verification.get("checked_at") != before:
            break
        if not as_json:
            print("checking...", file=out)
        sleep(2)
    else:
        raise CliError("the check did not finish: see the execution in the console")
    if as_json:
        _json(verification, out)
        return 0
    drift = verification.get("drift") or []
    print(f"checked {verification['checked_at']}: {'no drift' if not drift else f'{len(drift)} finding(s)'}", file=out)
    for finding in drift:
        print(f"  - {finding}", file=out)
    print(f"status: {item['status']}", file=out)
    return 0


# Drift that shows records not reaching the archive (the product's SILENCE_KINDS, steps/reconcile.py).
SILENCE_KINDS = frozenset({"canary-late", "silent"})


def _where(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item.get(key) for key in ("account_id", "region", "cluster_id")}


def report(items: list[dict[str, Any]], account_id: str | None, now: datetime) -> dict[str, Any]:
    """The fleet at a glance from the registry's items: how many sources in each status, the drifted ones with what
    reconciliation found, the failed ones with their last error, the silent ones, the source longest without a
    delivered audit record and the canary sent longest ago (of the sources still archived)."""
    counts = Counter(str(item.get("status", "unknown")) for item in items)
    rank = {status: index for index, status in enumerate(SourceStatus)}  # a report's order; any other by name
    by_status = dict(sorted(counts.items(), key=lambda entry: (rank.get(entry[0], len(rank)), entry[0])))
    drifted = [
        {**_where(item), "checked_at": (item.get("last_verification") or {}).get("checked_at"),
         "drift": (item.get("last_verification") or {}).get("drift") or []}
        for item in items if item.get("status") == "drifted"
    ]  # fmt: skip
    failed = [
        {**_where(item), "updated_at": item.get("updated_at"),
         **{key: (item.get("last_error") or {}).get(key) for key in ("step", "error", "aws_error_code", "message")}}
        for item in items if item.get("status") == "failed"
    ]  # fmt: skip
    canaries = [
        (item, item["canary"])
        for item in items
        if item.get("status") not in ("offboarding", "offboarded") and (item.get("canary") or {}).get("sent_at")
    ]
    archived = [item for item in items if item.get("status") not in ("offboarding", "offboarded", "failed")]
    silent = [
        {**_where(item), "last_delivery": item.get("last_delivery")}
        for item in archived
        if SILENCE_KINDS & {d.get("kind") for d in (item.get("last_verification") or {}).get("drift_details") or []}
    ]
    quietest = None
    if archived:  # never delivered first (by onboarding time), then the oldest delivery
        item = min(
            archived, key=lambda i: (bool(i.get("last_delivery")), i.get("last_delivery") or i.get("created_at") or "")
        )
        quietest = {**_where(item), "last_delivery": item.get("last_delivery")}
    pending = [canary for _, canary in canaries if not canary.get("arrived_at")]
    oldest = None
    if canaries:
        item, canary = min(canaries, key=lambda entry: datetime.fromisoformat(entry[1]["sent_at"]))
        waiting = (now - datetime.fromisoformat(canary["sent_at"])).total_seconds()
        oldest = {**_where(item), "id": canary.get("id"), "sent_at": canary["sent_at"],
                  "arrived_at": canary.get("arrived_at"), "delay_seconds": canary.get("delay_seconds"),
                  "waiting_seconds": None if canary.get("arrived_at") else round(waiting)}  # fmt: skip
    return {
        "account_id": account_id,
        "sources": len(items),
        "by_status": by_status,
        "drifted": drifted,
        "failed": failed,
        "silent": silent,
        "longest_without_delivery": quietest,
        "canaries_pending": len(pending),
        "oldest_canary": oldest,
    }


def _print_report(fleet: dict[str, Any], out: TextIO) -> None:
    def where(entry: dict[str, Any]) -> str:
        return f"{entry['account_id']}  {entry['region']}  {entry['cluster_id']}"

    scope = f"account {fleet['account_id']}" if fleet["account_id"] else "every account you may see"
    print(f"{fleet['sources']} source(s), {scope}", file=out)
    for status, count in fleet["by_status"].items():
        print(f"  {status:<15} {count:>6}", file=out)
    print(f"\ndrifted: {len(fleet['drifted']) or 'none'}", file=out)
    for entry in fleet["drifted"]:
        print(f"  {where(entry)}  (checked {entry['checked_at'] or 'never'})", file=out)
        for drift in entry["drift"]:
            print(f"    - {drift}", file=out)
    print(f"\nfailed: {len(fleet['failed']) or 'none'}", file=out)
    for entry in fleet["failed"]:
        code = f", {entry['aws_error_code']}" if entry["aws_error_code"] else ""
        print(f"  {where(entry)}  (at {entry['updated_at']})", file=out)
        print(f"    {entry['step'] or 'unknown step'} ({entry['error']}{code}): {entry['message']}", file=out)
    print(f"\nsilent: {len(fleet['silent']) or 'none'}", file=out)
    for entry in fleet["silent"]:
        print(f"  {where(entry)}  (last delivery {entry['last_delivery'] or 'never'})", file=out)
    quietest = fleet["longest_without_delivery"]
    if quietest is not None:
        last = quietest["last_delivery"] or "never"
        print(f"longest without a delivered audit record: {where(quietest)}  ({last})", file=out)
    canary = fleet["oldest_canary"]
    if canary is None:
        print("\noldest canary: none sent", file=out)
        return
    if canary["arrived_at"]:
        state = f"arrived after {canary['delay_seconds']:.1f} s"
    else:
        state = f"not arrived after {canary['waiting_seconds']} s"
    print(f"\noldest canary: {where(canary)}  sent {canary['sent_at']}, {state}", file=out)
    print(f"canaries on their way: {fleet['canaries_pending']}", file=out)


# ---------------------------------------------------------------------------------------------- entry point
def _transport(arguments: argparse.Namespace) -> Transport:
    """The API to call, and the region when none was given: the local server's, or the ApiUrl's."""
    api_url = arguments.api_url
    if api_url and is_local(api_url):
        transport = LocalHttp(api_url, arguments.caller_arn)
        if not arguments.region:
            arguments.region = _ok(*transport("GET", LOCAL_ABOUT_PATH))["region"]
        return transport
    if arguments.caller_arn:
        raise CliError("--caller-arn is for the local endpoint only: on AWS you are the principal of your credentials")
    if api_url and urlsplit(api_url).scheme != "https":
        raise CliError(f"--endpoint {api_url}: the API is https://... (http only for a local server on 127.0.0.1)")
    if api_url and not arguments.region:
        host = EXECUTE_API_HOST.search(urlsplit(api_url).hostname or "")
        arguments.region = host.group(1) if host else None
    if not arguments.region:
        raise CliError("no region: pass --region or set AWS_REGION")
    if not api_url and arguments.stack:
        api_url = api_url_from_stack(arguments.stack, arguments.region)
    if not api_url:
        raise CliError(f"no API: pass --stack (e.g. pgaudit-archiver) or --endpoint URL, or set {API_URL_ENV}")
    return SignedHttp(api_url, arguments.region)


def main(
    argv: list[str] | None = None, transport: Transport | None = None, out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:  # fmt: skip
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if "--local" in argv:  # before parsing: `pgaudit-archiver --local` alone has no command to parse
        print(f"{parser.prog}: {LOCAL_HINT}", file=err)
        return 2
    arguments = parser.parse_args(argv)
    try:
        return run(arguments, transport or _transport(arguments), out)
    except CliError as error:
        print(f"{parser.prog}: {error}", file=err)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted (what was started keeps running; `status` shows it)", file=err)
        return 130
