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
from collections.abc import Callable
from typing import Any, Protocol, TextIO
from urllib.parse import urlencode

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

DESCRIPTION = "the command line of the self-service API (requests signed with the caller's AWS credentials)"
RUNNING = {"onboarding", "offboarding"}
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
    return parser


def run(
    arguments: argparse.Namespace, call: Transport, out: TextIO, sleep: Callable[[float], None] = time.sleep
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
    if arguments.command == "status":
        status, answer = call("GET", f"/clusters/{arguments.account_id}/{region}/{arguments.cluster_id}")
        return _print(status, answer, out)
    query = {key: value for key, value in (("account_id", arguments.account_id), ("status", arguments.status)) if value}
    items: list[dict[str, Any]] = []
    while True:
        status, answer = call("GET", "/clusters", query=query or None)
        if status != 200:
            return _print(status, answer, out)
        items += answer["items"]
        if not answer.get("next_token"):
            break
        query["next_token"] = answer["next_token"]
    for item in items:
        where = f"{item['account_id']}  {item['region']}  {item['cluster_id']:<30}"
        print(f"{where} {item['status']:<15} {item.get('updated_at', '')}", file=out)
    print(f"{len(items)} cluster(s)", file=out)
    return 0


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
        if item["status"] not in RUNNING:
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
