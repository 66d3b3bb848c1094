"""Publish Run Summary's metrics, as CloudWatch receives them (Powertools' embedded metric format on stdout): the
figures the alarms read, and the completed-run count that only a run over the whole registry publishes."""

import json

import pytest

from functions.publish_run_summary import app as publish_run_summary
from local.template import stack_defaults
from pgaudit_archiver.handlers import clear_container_caches
from pgaudit_archiver.observability import metrics
from tests.unit.test_handlers import Context

STACK = {**stack_defaults(), "AWS_REGION": "eu-west-1", "ARCHIVE_ACCOUNT_ID": "123456789012"}
SOURCE = {"account_id": "111122223333", "region": "eu-west-1", "cluster_id": "orders-db"}


@pytest.fixture(autouse=True)
def new_container(monkeypatch):
    for name, value in STACK.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # tests/conftest.py silences metrics elsewhere
    clear_container_caches()
    metrics.clear_metrics()  # what an earlier test in this process added but never flushed
    yield
    clear_container_caches()


def published(capsys, event: dict) -> dict[str, float]:
    publish_run_summary.lambda_handler(event, Context(function_name="pgaudit-archiver-PublishRunSummaryFunction"))
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    values: dict[str, float] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                if set(directive["Dimensions"][0]) == {"service"}:
                    value = document[metric["Name"]]  # a list when a name was added more than once
                    values[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return values


def test_a_whole_fleet_run_publishes_its_silent_and_late_canary_counts_and_that_it_completed(capsys):
    segments = [
        {"segment": 0, "segments": 2, "done": True, "checked": 4, "drifted": 2, "silent": 1, "canaries_late": 1},
        {"segment": 1, "segments": 2, "done": True, "checked": 3, "silent": 2, "canaries_late": 1},
    ]

    values = published(capsys, {"registered": 7, "by_status": {"active": 7}, "segments": segments})

    assert (values["SilentSources"], values["CanariesLate"], values["ReconciliationCoverage"]) == (3, 2, 100)
    assert values["FleetReconciliationsCompleted"] == 1


def test_a_run_for_one_source_does_not_count_as_a_fleet_run(capsys):
    # POST .../verify of one cluster every few minutes must not keep the missed-schedule alarm quiet.
    segments = [{"source": SOURCE, "done": True, "checked": 1}]

    values = published(capsys, {"registered": 1, "segments": segments})

    assert values["SourcesChecked"] == 1
    assert "FleetReconciliationsCompleted" not in values
