"""pgaudit-archiver: the command line of the self-service API (requests signed with the caller's AWS credentials).

It knows nothing of the local emulation: `python -m local cli ...` (in a clone of the repository) parses with
`build_parser()` and calls `run()` with a transport of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO
from urllib.parse import urlencode

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from pgaudit_archiver.status import RUNNING_STATUSES, SourceStatus

DESCRIPTION = "the command line of the self-service API (requests signed with the caller's AWS credentials)"
PAGE_SIZE = "100"  # the most GET /clusters returns at once
API_URL_ENV = "PGAUDIT_ARCHIVER_API_URL"
LOCAL_HINT = (
    "--local is not part of the installed command: in a clone of the repository run `python -m local cli ...` "
    "(the same arguments, against the local emulation)"
)


class Transport(Protocol):
    def __call__(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]: ...  # fmt: skip


class SignedHttp:
    """HTTPS to the API with a SigV4 signature from the caller's credentials (botocore's default chain)."""

    def __init__(self, api_url: str, region: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.region = region
        self.credentials = boto3.Session(region_name=region).get_credentials()
        if self.credentials is None:
            raise SystemExit("no AWS credentials found: configure a profile or the AWS_* environment variables")

    def __call__(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        url = self.api_url + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = AWSRequest(
            method=method, url=url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
        )
        SigV4Auth(self.credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        prepared = urllib.request.Request(url, data=data, method=method, headers=dict(request.headers.items()))
        try:
            with urllib.request.urlopen(prepared, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, {"message": text.decode(errors="replace")}


def api_url_from_stack(stack: str, region: str) -> str:
    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0][
        "Outputs"
    ]
    return next(output["OutputValue"] for output in outputs if output["OutputKey"] == "ApiUrl")


def build_parser(prog: str = "pgaudit-archiver") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument(
        "--api-url", default=os.environ.get(API_URL_ENV), help=f"the stack's ApiUrl (or ${API_URL_ENV})"
    )
    parser.add_argument("--stack", help="read ApiUrl from this CloudFormation stack's outputs")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    # Kept only to say where --local went (the emulation stays in the repository, out of the product).
    parser.add_argument("--local", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)

    onboard = commands.add_parser("onboard", help="onboard a cluster")
    onboard.add_argument("account_id")
    onboard.add_argument("cluster_id")
    onboard.add_argument("--pgaudit-log")
    onboard.add_argument("--reboot", choices=["deferred", "immediate"])
    onboard.add_argument("--log-retention-days", type=int)
    onboard.add_argument("--filter-pattern")
    onboard.add_argument("--secret-arn")
    onboard.add_argument("--database")
    onboard.add_argument("--idempotency-key", help="retrying with the same key starts nothing new")
    onboard.add_argument("--wait", action="store_true", help="show progress until the execution ends")

    status = commands.add_parser("status", help="where one cluster stands")
    status.add_argument("account_id")
    status.add_argument("cluster_id")

    listing = commands.add_parser("list", help="onboarded clusters")
    listing.add_argument("--account-id")
    listing.add_argument("--status")

    offboard = commands.add_parser("offboard", help="stop archiving a cluster (archived objects stay)")
    offboard.add_argument("account_id")
    offboard.add_argument("cluster_id")
    offboard.add_argument(
        "--restore", action="store_true", help="also disable the export, re-attach the original group"
    )
    offboard.add_argument("--wait", action="store_true")

    adopt = commands.add_parser("adopt", help="onboard an account's existing clusters (AutoOnboard's tag rules)")
    adopt.add_argument("account_id")
    adopt.add_argument("--mode", choices=["all", "tagged"], help="default: the deployment's AutoOnboard")
    adopt.add_argument("--dry-run", action="store_true", help="list what would be onboarded and why the rest is not")
    adopt.add_argument("--wait", action="store_true", help="show progress until the adoption ends, then its table")

    report = commands.add_parser(
        "report", help="the fleet at a glance: sources by status, the drifted and failed ones, the oldest canary"
    )
    report.add_argument("--account", "--account-id", dest="account_id", help="one account's sources (default: all)")
    report.add_argument("--json", action="store_true", help="print one JSON document")
    return parser


def run(
    arguments: argparse.Namespace,
    call: Transport,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
) -> int:
    region = arguments.region
    if arguments.command == "onboard":
        body = {"account_id": arguments.account_id, "region": region, "cluster_id": arguments.cluster_id}
        for option in ("pgaudit_log", "reboot", "log_retention_days", "filter_pattern", "secret_arn", "database"):
            if getattr(arguments, option) is not None:
                body[option] = getattr(arguments, option)
        headers = {"Idempotency-Key": arguments.idempotency_key} if arguments.idempotency_key else None
        status, answer = call("POST", "/clusters", body=body, headers=headers)
        return _started(status, answer, arguments.wait, call, out, sleep)
    if arguments.command == "offboard":
        path = f"/clusters/{arguments.account_id}/{region}/{arguments.cluster_id}"
        status, answer = call("DELETE", path, query={"restore": "true"} if arguments.restore else None)
        return _started(status, answer, arguments.wait, call, out, sleep)
    if arguments.command == "adopt":
        body: dict[str, Any] = {"region": region} if region else {}
        if arguments.mode:
            body["mode"] = arguments.mode
        if arguments.dry_run:
            body["dry_run"] = True
        status, answer = call("POST", f"/accounts/{arguments.account_id}/adopt", body=body)
        if status >= 400:
            return _print(status, answer, out)
        print(f"adoption {answer['adoption_id']} started", file=out)
        print(f"watch it: {answer['console_url']}", file=out)
        # A dry run's answer is its plan: always waited for.
        return _adoption(call, answer["status_path"], out, sleep) if arguments.wait or arguments.dry_run else 0
    if arguments.command == "status":
        status, answer = call("GET", f"/clusters/{arguments.account_id}/{region}/{arguments.cluster_id}")
        return _print(status, answer, out)
    if arguments.command == "report":
        status, answer = _all_items(call, {"account_id": arguments.account_id, "limit": PAGE_SIZE})
        if status != 200:
            return _print(status, answer, out)
        fleet = report(answer, arguments.account_id, now())
        if arguments.json:
            print(json.dumps(fleet, indent=2), file=out)
        else:
            _print_report(fleet, out)
        return 0
    status, answer = _all_items(call, {"account_id": arguments.account_id, "status": arguments.status})
    if status != 200:
        return _print(status, answer, out)
    items: list[dict[str, Any]] = answer
    for item in items:
        where = f"{item['account_id']}  {item['region']}  {item['cluster_id']:<30}"
        print(f"{where} {item['status']:<15} {item.get('updated_at', '')}", file=out)
    print(f"{len(items)} cluster(s)", file=out)
    return 0


def _adoption(call: Transport, path: str, out: TextIO, sleep: Callable[[float], None]) -> int:
    """Progress until the adoption ends (the account's sources by status), then its table."""
    last = None
    while True:
        status, answer = call("GET", path)
        if status != 200:
            return _print(status, answer, out)
        sources = answer.get("account_sources") or {}
        onboarded = sources.get("active", 0) + sources.get("pending-reboot", 0)
        progress = (f"{answer['status'].lower()}: {onboarded} onboarded, {sources.get('failed', 0)} failed, "
                    f"{sources.get('onboarding', 0)} onboarding (the account's sources)")  # fmt: skip
        if progress != last:
            print(progress, file=out)
            last = progress
        if answer["status"] != "RUNNING":
            break
        sleep(5)
    result = answer.get("output")
    if answer["status"] != "SUCCEEDED" or not result:
        print(f"adoption {answer['status']}: {answer.get('error')}: {answer.get('cause')}", file=out)
        return 1
    totals = result["totals"]
    print(f"{'clusters':<10}{'planned':>9}{'onboarded':>11}{'failed':>8}{'skipped':>9}", file=out)
    print(f"{totals['clusters']:<10}{totals['planned']:>9}{totals['onboarded']:>11}{totals['failed']:>8}"
          f"{totals['skipped']:>9}", file=out)  # fmt: skip
    for cluster_id in result.get("planned", []):
        print(f"  would onboard  {cluster_id}", file=out)
    for skipped in result.get("skipped", []):
        print(f"  skipped        {skipped['cluster_id']}: {skipped['reason']}", file=out)
    for failure in result.get("failures", []):
        print(f"  failed         {failure['cluster_id']}: {failure.get('error')}: {failure.get('cause')}", file=out)
    return 1 if totals["failed"] else 0


def _all_items(call: Transport, query: dict[str, str | None]) -> tuple[int, Any]:
    """Every page of GET /clusters: (200, the items), or the first error's status and answer."""
    parameters = {key: value for key, value in query.items() if value}
    items: list[dict[str, Any]] = []
    while True:
        status, answer = call("GET", "/clusters", query=parameters or None)
        if status != 200:
            return status, answer
        items += answer["items"]
        if not answer.get("next_token"):
            return 200, items
        parameters["next_token"] = answer["next_token"]


def _print(status: int, answer: Any, out: TextIO) -> int:
    if status >= 400:
        print(f"error {status}: {answer.get('message') or answer.get('Message') or answer}", file=out)
        return 1
    print(json.dumps(answer, indent=2), file=out)
    return 0


def _started(status: int, answer: Any, wait: bool, call: Transport, out: TextIO, sleep: Callable[[float], None]) -> int:
    if status >= 400:
        return _print(status, answer, out)
    word = "already running" if answer["already_running"] else "started"
    print(f"{answer['operation']} of {answer['source']['cluster_id']} {word}: {answer['execution_arn']}", file=out)
    if answer.get("console_url"):
        print(f"watch it: {answer['console_url']}", file=out)
    if not wait:
        return 0
    last = None
    for _ in range(3600):
        status, item = call("GET", answer["status_path"])
        if status != 200:
            return _print(status, item, out)
        if item["status"] != last:
            print(f"status: {item['status']}", file=out)
            last = item["status"]
        if item["status"] not in RUNNING_STATUSES:
            break
        sleep(2)
    return _summary(item, out)


def _summary(item: dict[str, Any], out: TextIO) -> int:
    for change in item.get("last_changes", []):
        print(f"  - {change}", file=out)
    for name, value in (item.get("resources") or {}).items():
        print(f"  {name}: {value}", file=out)
    for pending in item.get("pending", []):
        print(f"  pending: {pending}", file=out)
    for action in item.get("actions_required", []):
        print(f"  to do: {action}", file=out)
    if item["status"] == "failed":
        error = item.get("last_error") or {}
        print(f"  failed at {error.get('step')}: {error.get('message')}", file=out)
        return 1
    return 0


def _where(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item.get(key) for key in ("account_id", "region", "cluster_id")}


def report(items: list[dict[str, Any]], account_id: str | None, now: datetime) -> dict[str, Any]:
    """The fleet at a glance from the registry's items: how many sources in each status, the drifted ones with what
    reconciliation found, the failed ones with their last error, and the canary sent longest ago (of the sources
    still archived), arrived or still on its way."""
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


def main(argv: list[str] | None = None, transport: Transport | None = None, out: TextIO = sys.stdout) -> int:
    arguments = build_parser().parse_args(argv)
    if arguments.local:
        raise SystemExit(LOCAL_HINT)
    if transport is not None:
        return run(arguments, transport, out)
    if not arguments.region:
        raise SystemExit("no region: pass --region or set AWS_REGION")
    api_url = arguments.api_url or (api_url_from_stack(arguments.stack, arguments.region) if arguments.stack else None)
    if not api_url:
        raise SystemExit(f"no API URL: pass --api-url or --stack, or set {API_URL_ENV}")
    return run(arguments, SignedHttp(api_url, arguments.region), out)
