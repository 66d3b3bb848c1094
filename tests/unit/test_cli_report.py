"""`pgaudit-archiver report`: the fleet at a glance from GET /clusters, against a fake API (no network)."""

import io
import json
from datetime import UTC, datetime

from pgaudit_archiver.steps.reconcile import SILENCE_KINDS as PRODUCT_SILENCE_KINDS
from pgaudit_archiver_cli import SILENCE_KINDS, CliError, build_parser, main, run

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
OTHER = "444455556666"


def source(cluster, status, account=ACCOUNT, **fields):
    return {"account_id": account, "region": "eu-west-1", "cluster_id": cluster, "status": status,
            "updated_at": "2026-03-01T10:00:00+00:00", **fields}  # fmt: skip


class FakeApi:
    """GET /clusters as the API answers it: pages of `page_size` items with a next_token, an account filter."""

    def __init__(self, items, page_size=2, refuse=None):
        self.items, self.page_size, self.refuse = items, page_size, refuse
        self.calls = []

    def __call__(self, method, path, body=None, query=None, headers=None):
        self.calls.append((method, path, dict(query or {})))
        assert (method, path) == ("GET", "/clusters")
        query = query or {}
        if self.refuse:
            return self.refuse
        items = [item for item in self.items if query.get("account_id") in (None, item["account_id"])]
        start = int(query.get("next_token", 0))
        page = items[start : start + self.page_size]
        more = start + self.page_size < len(items)
        return 200, {"items": page, "next_token": str(start + self.page_size) if more else None}


def report(api, *argv):
    out = io.StringIO()
    arguments = build_parser().parse_args(["--region", "eu-west-1", "report", *argv])
    try:
        code = run(arguments, api, out, now=lambda: NOW)
    except CliError as error:
        return 1, f"{error}\n"
    return code, out.getvalue()


FLEET = [
    source("orders", "active", canary={"id": "c1", "sent_at": "2026-03-01T11:00:00.000+00:00",
                                       "arrived_at": "2026-03-01T11:00:40.000+00:00", "delay_seconds": 40.0}),
    source("billing", "drifted", last_verification={"checked_at": "2026-03-01T11:00:05+00:00",
                                                    "drift": ["the postgresql log export is off"]}),
    source("ledger", "failed", last_error={"step": "Validate Request", "error": "ClusterNotEligibleError",
                                           "aws_error_code": None, "message": "ledger is not Aurora PostgreSQL"}),
    source("stock", "active", account=OTHER,
           canary={"id": "c2", "sent_at": "2026-03-01T10:30:00.000+00:00"}),  # sent earliest, not arrived
    source("old", "offboarded", canary={"id": "c0", "sent_at": "2026-01-01T00:00:00.000+00:00"}),
    source("queue", "pending-reboot"),
]  # fmt: skip


def test_report_counts_sources_by_status_in_the_registry_order():
    code, output = report(FakeApi(FLEET))
    assert code == 0
    assert output.splitlines()[:6] == [
        "6 source(s), every account you may see",
        "  active               2",
        "  pending-reboot       1",
        "  drifted              1",
        "  failed               1",
        "  offboarded           1",
    ]


def test_report_shows_drifted_sources_with_their_drift_and_failed_ones_with_their_last_error():
    _, output = report(FakeApi(FLEET))
    assert "drifted: 1\n  111122223333  eu-west-1  billing  (checked 2026-03-01T11:00:05+00:00)\n" in output
    assert "    - the postgresql log export is off\n" in output
    assert "failed: 1\n  111122223333  eu-west-1  ledger  (at 2026-03-01T10:00:00+00:00)\n" in output
    assert "    Validate Request (ClusterNotEligibleError): ledger is not Aurora PostgreSQL\n" in output


def test_report_oldest_canary_is_the_one_sent_longest_ago_and_says_how_long_it_has_waited():
    # The offboarded source's canary is older, but that source is no longer archived.
    _, output = report(FakeApi(FLEET))
    assert "oldest canary: 444455556666  eu-west-1  stock  sent 2026-03-01T10:30:00.000+00:00, " in output
    assert "not arrived after 5400 s" in output
    assert "canaries on their way: 1" in output


def test_report_oldest_canary_that_arrived_shows_its_delay():
    _, output = report(FakeApi(FLEET[:1]))
    assert "  orders  sent 2026-03-01T11:00:00.000+00:00, arrived after 40.0 s\n" in output
    assert "canaries on their way: 0" in output


def test_report_reads_every_page_of_the_registry_for_the_account_asked():
    api = FakeApi([source(f"c{i}", "active") for i in range(5)] + [source("x", "active", account=OTHER)], page_size=2)
    code, output = report(api, "--account", ACCOUNT)
    assert code == 0 and output.startswith(f"5 source(s), account {ACCOUNT}\n")
    assert [query for _, _, query in api.calls] == [
        {"account_id": ACCOUNT, "limit": "100"},
        {"account_id": ACCOUNT, "limit": "100", "next_token": "2"},
        {"account_id": ACCOUNT, "limit": "100", "next_token": "4"},
    ]


def test_report_json_is_one_document_a_script_can_read():
    _, output = report(FakeApi(FLEET), "--json")
    fleet = json.loads(output)
    assert fleet["sources"] == 6
    assert fleet["by_status"] == {"active": 2, "pending-reboot": 1, "drifted": 1, "failed": 1, "offboarded": 1}
    assert fleet["drifted"] == [{"account_id": ACCOUNT, "region": "eu-west-1", "cluster_id": "billing",
                                 "checked_at": "2026-03-01T11:00:05+00:00",
                                 "drift": ["the postgresql log export is off"]}]  # fmt: skip
    assert [(f["cluster_id"], f["step"], f["error"]) for f in fleet["failed"]] == [
        ("ledger", "Validate Request", "ClusterNotEligibleError")
    ]
    assert fleet["oldest_canary"]["cluster_id"] == "stock" and fleet["oldest_canary"]["waiting_seconds"] == 5400
    assert fleet["oldest_canary"]["arrived_at"] is None and fleet["canaries_pending"] == 1


def test_report_of_an_empty_fleet_says_so():
    _, output = report(FakeApi([]))
    assert output.startswith("0 source(s)")
    assert "drifted: none" in output and "failed: none" in output and "oldest canary: none sent" in output


def test_report_prints_the_api_error_and_exits_non_zero():
    api = FakeApi([], refuse=(403, {"message": "111122223333 may act only on its own clusters"}))
    code, output = report(api, "--account", OTHER)
    assert code == 1
    assert output == "error 403: 111122223333 may act only on its own clusters\n"


def test_list_still_reads_every_page():
    out = io.StringIO()
    api = FakeApi([source(f"c{i}", "active") for i in range(3)], page_size=2)
    assert main(["--region", "eu-west-1", "list", "--status", "active"], transport=api, out=out) == 0
    assert out.getvalue().endswith("3 cluster(s)\n")
    assert [query for _, _, query in api.calls] == [{"status": "active"}, {"status": "active", "next_token": "2"}]


def test_report_names_the_silent_sources_and_the_one_longest_without_a_delivered_record():
    silent = {"checked_at": "2026-03-01T11:00:05+00:00", "drift": ["no audit record from quiet ..."],
              "drift_details": [{"kind": "silent", "resource": "quiet"}]}  # fmt: skip
    fleet = [
        source("orders", "active", last_delivery="2026-03-01T11:55:00+00:00"),
        source("quiet", "drifted", last_delivery="2026-02-20T08:00:00+00:00", last_verification=silent),
        source("gone", "offboarded", last_delivery="2026-01-01T00:00:00+00:00"),  # no longer archived
    ]

    _, output = report(FakeApi(fleet), "--json")
    document = json.loads(output)

    assert document["silent"] == [{**where("quiet"), "last_delivery": "2026-02-20T08:00:00+00:00"}]
    assert document["longest_without_delivery"] == document["silent"][0]
    _, text = report(FakeApi(fleet))
    assert "silent: 1\n  111122223333  eu-west-1  quiet  (last delivery 2026-02-20T08:00:00+00:00)" in text


def test_report_a_source_that_never_delivered_is_the_longest_without_a_delivery():
    fleet = [source("orders", "active", last_delivery="2026-02-01T00:00:00+00:00"), source("new", "active")]

    _, output = report(FakeApi(fleet), "--json")

    assert json.loads(output)["longest_without_delivery"] == {**where("new"), "last_delivery": None}


def test_report_counts_silence_as_reconciliation_does():
    # the CLI is installed without the product, so it keeps its own copy
    assert SILENCE_KINDS == PRODUCT_SILENCE_KINDS


def where(cluster, account=ACCOUNT):
    return {"account_id": account, "region": "eu-west-1", "cluster_id": cluster}
