"""The alarms of template.yaml: each one's metric is one the code publishes (or AWS publishes for a resource of the
template), every workflow's failed, timed-out and aborted executions alarm, an alarm whose metric exists only when
something happens breaches when it is missing, and docs/alarms.md lists each alarm as it is defined."""

import re

import pytest

import tests.statemachine.test_dashboard as dashboard
from local.template import ROOT

RESOURCES = dashboard.RESOURCES
ALARMS = {logical_id: r["Properties"] for logical_id, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
STATE_MACHINES = {logical_id for logical_id, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::StateMachine"}
WORKFLOW_END_METRICS = {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
SECONDS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def watched_metrics(alarm: dict) -> list[tuple[str, str, dict]]:
    """(namespace, metric, dimensions) of each metric an alarm reads, directly or in its metric math."""
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm["Dimensions"]})]
    return [
        (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"],
         {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]})
        for query in alarm["Metrics"] if (stat := query.get("MetricStat"))
    ]  # fmt: skip


PRODUCT_METRICS = [
    (alarm_id, metric, dims)
    for alarm_id, alarm in ALARMS.items()
    for namespace, metric, dims in watched_metrics(alarm)
    if namespace == dashboard.NAMESPACE
]


def alarm_table() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "alarms.md").read_text()
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| `")]
    return {cells[0].strip().strip("`"): [cell.strip() for cell in cells] for cells in rows}


@pytest.mark.parametrize(("alarm_id", "metric", "dimensions"), PRODUCT_METRICS, ids=[m[0] for m in PRODUCT_METRICS])
def test_alarm_product_metric_is_one_the_code_emits_with_its_dimensions(alarm_id, metric, dimensions):
    emitted = dashboard.dimensions_emitted_for(metric, dashboard.emitted_metrics())
    assert emitted is not None, f"{alarm_id}: no code publishes {dashboard.NAMESPACE}/{metric}"
    assert set(dimensions) == emitted and dimensions["service"] == dashboard.SERVICE, alarm_id


def test_every_workflow_alarms_on_each_way_an_execution_ends_badly():
    covered: dict[str, set[str]] = {machine: set() for machine in STATE_MACHINES}
    for alarm in ALARMS.values():
        metrics = [m for m in watched_metrics(alarm) if m[0] == "AWS/States"]
        for _, metric, dimensions in metrics:
            covered[dimensions["StateMachineArn"]["Ref"]].add(metric)
        if metrics:  # the expression adds every metric it reads, each filled where absent
            ids = {query["Id"] for query in alarm["Metrics"] if "MetricStat" in query}
            [expression] = [query["Expression"] for query in alarm["Metrics"] if query.get("ReturnData")]
            assert set(re.findall(r"FILL\((\w+), 0\)", expression)) == ids
            assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert covered == dict.fromkeys(STATE_MACHINES, WORKFLOW_END_METRICS)


def test_overdue_alarm_breaches_without_a_run_and_waits_longer_than_the_default_schedule():
    alarm = ALARMS["ReconciliationOverdueAlarm"]
    schedule = dashboard.TEMPLATE["Parameters"]["ReconcileSchedule"]["Default"]
    count, unit = re.fullmatch(r"rate\((\d+) (\w+)\)", schedule).groups()  # type: ignore[union-attr]
    hours = dashboard.TEMPLATE["Parameters"]["ReconcileOverdueHours"]["Default"]

    assert alarm["TreatMissingData"] == "breaching"
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == ({"Ref": "ReconcileOverdueHours"},) * 2
    assert alarm["Period"] * hours > int(count) * SECONDS[unit]  # one late run is not an alarm
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == ("Sum", "LessThanThreshold", 1)


def test_every_alarm_says_why_it_treats_missing_data_as_it_does():
    lines = (ROOT / "template.yaml").read_text().splitlines()
    treatments = [i for i, line in enumerate(lines) if line.strip().startswith("TreatMissingData:")]
    assert len(treatments) == len(ALARMS)
    assert [lines[i] for i in treatments if not lines[i - 1].strip().startswith("#")] == []


def test_alarm_costs_page_lists_every_alarm_with_its_missing_data_treatment_and_metric_count():
    table = alarm_table()
    assert set(table) == set(ALARMS)
    for alarm_id, alarm in ALARMS.items():
        _, _, treatment, metrics, cost = table[alarm_id]
        assert treatment.startswith(f"`{alarm['TreatMissingData']}`"), alarm_id
        if any("Expression" in query and "SELECT" in query["Expression"] for query in alarm.get("Metrics", [])):
            assert metrics == "one per stream", alarm_id  # a Metrics Insights query: as many as it analyzes
            continue
        assert int(metrics) == len(watched_metrics(alarm)), alarm_id
        assert cost == f"${0.10 * int(metrics):.2f}", alarm_id
