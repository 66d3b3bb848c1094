"""`python -m local serve`: the API of one emulated deployment on 127.0.0.1, kept for as long as the server runs,
so that separate `pgaudit-archiver --endpoint http://127.0.0.1:PORT ...` commands see each other's work.

Who calls: the server has no SigV4 to check. Each request acts as the principal in the header
X-Pgaudit-Archiver-Caller-Arn (the command line's --caller-arn), or else as the one given by --caller-arn at start
(by default an ordinary developer role of the first source account). Its account is the ARN's.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qsl, urlsplit

import boto3

from local.accounts import REGION, SOURCE_ACCOUNT
from pgaudit_archiver_cli import CLUSTER_ID, LOCAL_ABOUT_PATH, LOCAL_CALLER_HEADER

if TYPE_CHECKING:
    from local.world import World

# What --sample-fleet creates in the first source account, for `adopt`: opted in, opted out, and untagged clusters.
SAMPLE_FLEET: dict[str, dict[str, str]] = {
    "orders-db": {"pgaudit-archiver": "enabled"},
    "billing-db": {"pgaudit-archiver": "enabled"},
    "ledger-db": {"pgaudit-archiver": "enabled"},
    "scratch-db": {"pgaudit-archiver": "disabled"},
    "reporting-db": {},
}
# And a DB instance (adoption covers standalone RDS for PostgreSQL DB instances too), opted in.
SAMPLE_FLEET_INSTANCES: dict[str, dict[str, str]] = {"inventory-db": {"pgaudit-archiver": "enabled"}}
# A principal as SigV4 would prove it: an IAM user or role, or an STS assumed-role session.
PRINCIPAL_ARN = re.compile(r"^arn:aws:(?:iam|sts)::([0-9]{12}):(?:user|role|assumed-role)/[\w+=,.@/-]+$")
# The API's routes carry the region after /clusters/{account_id}/ or /instances/{account_id}/.
PATH_REGION = re.compile(r"^/(?:clusters|instances)/[^/]+/([^/]+)/")
MAX_BODY_BYTES = 1 << 20


class LocalOptionError(ValueError):
    """A local option the emulation cannot honour; the message names it and what to pass instead."""


def developer_arn(account: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/developer/cli"


def add_world_options(parser: argparse.ArgumentParser, *, server: bool = True) -> None:
    """What the emulated deployment is: the same options for `serve` and for the one-shot `cli` (whose --region
    and --caller-arn are the command line's own)."""
    group = parser.add_argument_group("the emulated deployment")
    if server:
        group.add_argument("--region", dest="stack_region", default=REGION, metavar="REGION",
                           help=f"the region the archive stack is deployed in (default {REGION})")  # fmt: skip
    else:
        parser.set_defaults(stack_region=REGION, default_caller_arn=None)
    group.add_argument(
        "--source-account", action="append", dest="source_accounts", metavar="ACCOUNT_ID",
        help=f"an account with the source stack deployed and allowed to call (repeat; default {SOURCE_ACCOUNT})",
    )  # fmt: skip
    group.add_argument(
        "--parameter", action="append", default=[], metavar="KEY=VALUE",
        help="a template parameter of your deployment, e.g. AuditReducerRoleNames=deployer (repeat); nothing is "
        "granted that these do not grant",
    )  # fmt: skip
    if server:
        group.add_argument(
            "--caller-arn", dest="default_caller_arn", metavar="ARN",
            help="who calls when a request names no one (default: arn:aws:sts::ACCOUNT:assumed-role/developer/cli "
            "of the first source account, an ordinary developer)",
        )  # fmt: skip
    clusters = parser.add_argument_group("clusters in the source account (none unless asked)")
    clusters.add_argument(
        "--create-demo-cluster", action="append", default=[], metavar="CLUSTER_ID",
        help="an Aurora PostgreSQL cluster whose owner has granted consent (tagged pgaudit-archiver=enabled) (repeat)",
    )  # fmt: skip
    clusters.add_argument(
        "--create-cluster-without-consent", action="append", default=[], metavar="CLUSTER_ID",
        help="a cluster its owner has not tagged: onboarding it answers 409 with the owner's commands (repeat)",
    )  # fmt: skip
    clusters.add_argument("--sample-fleet", action="store_true",
                          help="five clusters and a DB instance to adopt: "
                          + ", ".join([*SAMPLE_FLEET, *SAMPLE_FLEET_INSTANCES]))  # fmt: skip


def world_of(options: argparse.Namespace) -> World:
    """The World the options describe (not entered). Raises LocalOptionError for an option it cannot honour."""
    accounts = tuple(options.source_accounts or (SOURCE_ACCOUNT,))
    for account in accounts:
        if not re.fullmatch(r"[0-9]{12}", account):
            raise LocalOptionError(f"--source-account {account!r}: an account id is 12 digits")
    for cluster in [*options.create_demo_cluster, *options.create_cluster_without_consent]:
        if not CLUSTER_ID.fullmatch(cluster):  # the API's own rule: the same id would be refused there
            raise LocalOptionError(
                f"cluster id {cluster!r}: a DB cluster identifier is a letter, then letters, digits and hyphens "
                "(at most 63 characters), as the API requires"
            )
    parameters: dict[str, str] = {}
    for assignment in options.parameter:
        key, equals, value = assignment.partition("=")
        if not equals:
            raise LocalOptionError(f"--parameter {assignment!r}: write KEY=VALUE, e.g. AuditReducerRoleNames=deployer")
        parameters[key] = value
    known = boto3.session.Session().get_available_regions("rds")  # the regions of the installed botocore
    if options.stack_region not in known:
        close = difflib.get_close_matches(options.stack_region, known, n=3)
        raise LocalOptionError(
            f"--region {options.stack_region!r} is not an AWS region"
            + (f": did you mean {' or '.join(close)}?" if close else f"; one of {', '.join(sorted(known))}")
        )
    from local.world import World  # noqa: PLC0415  (after the options are checked: the emulation is slow to import)

    world = World(source_accounts=accounts, region=options.stack_region, parameters=parameters)
    unknown = sorted(set(parameters) - set(world.template.get("Parameters", {})))
    if unknown:
        raise LocalOptionError(f"--parameter {', '.join(unknown)}: not a parameter of template.yaml")
    caller = options.default_caller_arn or developer_arn(accounts[0])
    if not PRINCIPAL_ARN.fullmatch(caller):
        raise LocalOptionError(f"--caller-arn {caller!r}: an IAM user, role or assumed-role ARN")
    options.default_caller_arn = caller
    return world


def populate(world: World, options: argparse.Namespace) -> None:
    """The clusters asked for, in the first source account, created as their owner would."""
    account = world.source_accounts[0]
    for cluster in options.create_demo_cluster:
        world.create_cluster(cluster, account=account, instances=1, consent=True)
    for cluster in options.create_cluster_without_consent:
        world.create_cluster(cluster, account=account, instances=1, consent=False)
    if options.sample_fleet:
        for cluster, tags in SAMPLE_FLEET.items():
            world.create_cluster(cluster, account=account, instances=1, tags=tags)
        for instance, tags in SAMPLE_FLEET_INSTANCES.items():
            world.create_instance(instance, account=account, tags=tags)


def region_refusal(world: World, path: str, body: Any) -> str | None:
    """A region the local stack is not deployed in, named with the one it is (AWS would need another ApiUrl)."""
    match = PATH_REGION.match(path)
    asked = match.group(1) if match else (body.get("region") if isinstance(body, dict) else None)
    if asked is None or asked == world.region:
        return None
    return deployed_regions_refusal(asked, world.region)


def deployed_regions_refusal(asked: str, deployed: str) -> str:
    return (f"region {asked!r}: the local stack is deployed in {deployed} only; pass --region {deployed} "
            "(or start the emulation with --region for another)")  # fmt: skip


class LocalApi:
    """The API of a World, called as the given principal (what SigV4 would prove on AWS)."""

    def __init__(self, world: World, account_id: str, principal_arn: str) -> None:
        self.world, self.account_id, self.principal_arn = world, account_id, principal_arn

    def __call__(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        if method == "GET" and path == LOCAL_ABOUT_PATH:
            return 200, about(self.world, self.principal_arn)
        refusal = region_refusal(self.world, path, body)
        if refusal:
            return 400, {"message": refusal}
        response = self.world.api(method, path, caller_account=self.account_id, caller_arn=self.principal_arn,
                                  body=body, query=query, headers=headers)  # fmt: skip
        return response.status, response.body


def about(world: World, caller_arn: str) -> dict[str, Any]:
    return {"region": world.region, "regions": [world.region], "caller_arn": caller_arn,
            "source_accounts": list(world.source_accounts)}  # fmt: skip


def handler_class(world: World, default_caller: str, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "pgaudit-archiver-local"

        def log_message(self, format: str, *args: Any) -> None:
            print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", file=sys.stderr, flush=True)

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                if name.lower() not in ("content-type", "content-length"):
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            url = urlsplit(self.path)
            caller = self.headers.get(LOCAL_CALLER_HEADER) or default_caller
            principal = PRINCIPAL_ARN.fullmatch(caller)
            if principal is None:
                self._answer(400, {"message": f"{LOCAL_CALLER_HEADER} {caller!r}: an IAM user, role or "
                                              "assumed-role ARN"})  # fmt: skip
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"message": "request body too large"})
                return
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                # API Gateway passes the text on; the API answers 400 for a body that is not JSON.
                body = raw.decode(errors="replace")
            query = dict(parse_qsl(url.query, keep_blank_values=True)) or None
            headers = {name: value for name, value in self.headers.items() if name != LOCAL_CALLER_HEADER}
            if self.command == "GET" and url.path == LOCAL_ABOUT_PATH:
                self._answer(200, about(world, caller))
                return
            refusal = region_refusal(world, url.path, body)
            if refusal:
                self._answer(400, {"message": refusal})
                return
            with lock:  # one API call at a time, as the one-shot command line makes them
                response = world.api(self.command, url.path, caller_account=principal.group(1), caller_arn=caller,
                                     body=body, query=query, headers=headers)  # fmt: skip
            self._answer(response.status, response.body, response.headers)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

    return Handler


def serve(options: argparse.Namespace, out: TextIO = sys.stdout, stop: threading.Event | None = None) -> int:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    try:
        world = world_of(options)
    except LocalOptionError as error:
        print(f"python -m local serve: error: {error}", file=sys.stderr)
        return 2
    print(f"deploying the archive stack in {world.region} and the source stack in "
          f"{', '.join(world.source_accounts)} (about 10 s)...", file=out, flush=True)  # fmt: skip
    with world:
        populate(world, options)
        server = ThreadingHTTPServer((options.host, options.port), handler_class(world, options.default_caller_arn,
                                                                                  threading.Lock()))  # fmt: skip
        port = server.server_address[1]
        print(f"caller (unless a request names another): {options.default_caller_arn}", file=out)
        for cluster in [*options.create_demo_cluster, *options.create_cluster_without_consent]:
            print(f"cluster: {cluster} in {world.source_accounts[0]} ({world.region})", file=out)
        print(f"listening on http://{options.host}:{port}  (pgaudit-archiver --endpoint http://{options.host}:{port} "
              "...); Ctrl-C stops it and forgets everything", file=out, flush=True)  # fmt: skip
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        _wait(stop or threading.Event(), options.exit_after)
        server.shutdown()
        server.server_close()
    return 0


def _wait(stop: threading.Event, exit_after: float | None, clock: Callable[[], float] = time.monotonic) -> None:
    deadline = None if exit_after is None else clock() + exit_after
    try:
        while not stop.wait(0.5):
            if deadline is not None and clock() >= deadline:
                return
    except KeyboardInterrupt:
        return


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local serve",
        description="The pgaudit-archiver API of one emulated deployment, on localhost, kept while it runs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="the port (default 8765; 0: any free port)")
    parser.add_argument("--exit-after", type=float, metavar="SECONDS", help="stop by itself after this long")
    add_world_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    return serve(build_parser().parse_args(argv))
