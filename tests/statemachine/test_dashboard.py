"""The fleet dashboard (FleetDashboard in template.yaml): valid JSON once CloudFormation substitutes it, every widget
titled and on the grid, and every metric on it one the code publishes (read from the code, so a renamed metric
fails here) with the dimensions it publishes, or one AWS publishes for a resource of this template."""

import ast
import functools
import json
import re
from typing import get_args

import pytest

from local.template import ARCHIVE_TEMPLATE, ROOT, load_template
from pgaudit_archiver.models import Source
from pgaudit_archiver.naming import delivery_stream_name
from pgaudit_archiver.steps.auto_onboard import Decision

TEMPLATE = load_template(ARCHIVE_TEMPLATE)
RESOURCES = TEMPLATE["Resources"]
DASHBOARD = RESOURCES["FleetDashboard"]
VARIABLES = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
SERVICE = VARIABLES["POWERTOOLS_SERVICE_NAME"]
NAMESPACE = VARIABLES["POWERTOOLS_METRICS_NAMESPACE"]
PSEUDO_PARAMETERS = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::StackName": "pgaudit-archiver",
                     "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}  # fmt: skip
PRODUCT_CODE = ("layers/shared", "functions")
SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\}(?P<term>[^']*)',\s*'(?P<stat>[\w.]+)',\s*(?P<period>\d+)\)")
GRID_COLUMNS = 24


def substituted(text: str) -> str:
    """Fn::Sub as CloudFormation does it: parameters (their defaults), pseudo parameters, resources (Ref and GetAtt,
    here a placeholder that names them) replaced, and ${!Literal} left as ${Literal}."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in TEMPLATE["Parameters"]:
            return str(TEMPLATE["Parameters"][name]["Default"])
        assert name.split(".")[0] in RESOURCES, f"${{{name}}} names no parameter or resource of template.yaml"
        return f"resource:{name}"

    return re.sub(r"\$\{([^}]+)\}", value, text)


def body() -> dict:
    return json.loads(substituted(DASHBOARD["Properties"]["DashboardBody"]["Fn::Sub"]))


def metric_widgets() -> list[dict]:
    return [widget for widget in body()["widgets"] if widget["type"] == "metric"]


def shown_metrics() -> list[tuple[str, str, dict[str, str | None], str]]:
    """(namespace, metric, {dimension: value, or None where a search matches any}, widget title) of every metric
    on the dashboard, whether named directly or found by a SEARCH expression."""
    shown = []
    for widget in metric_widgets():
        title = widget["properties"]["title"]
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], dict):
                for search in SEARCH.finditer(row[0]["expression"]):
                    namespace, *dimensions = [part.strip() for part in search["schema"].split(",")]
                    terms = dict(re.findall(r'(\w+)="?([^"\s]*)"?', search["term"]))
                    shown.append((namespace, terms.pop("MetricName"), {d: terms.get(d) for d in dimensions}, title))
                continue
            names = [item for item in row if not isinstance(item, dict)]
            assert "." not in names, f"{title}: write each metric out in full, not with the '.' shorthand"
            namespace, metric, *pairs = names
            shown.append((namespace, metric, dict(zip(pairs[::2], pairs[1::2], strict=True)), title))
    return shown


def _string_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _counted_keys(tree: ast.Module, constants: dict[str, str]) -> set[str]:
    """The module's string constants used as counter keys (`counts[QUARANTINED_ENVELOPES] += 1`)."""
    return {
        constants[node.target.slice.id]
        for node in ast.walk(tree)
        if isinstance(node, ast.AugAssign)
        and isinstance(node.target, ast.Subscript)
        and isinstance(node.target.slice, ast.Name)
        and node.target.slice.id in constants
    }


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


@functools.cache  # the product's code is parsed once per process: dozens of parametrized cases read it
def emitted_metrics() -> dict[str, frozenset[str]]:
    """Every metric the product's code publishes, as a name or (for an f-string) a regular expression, with the
    dimension names it carries: Powertools' `metrics.add_metric` adds `service`; a `single_metric` block carries the
    dimensions its body adds. A name held in a variable is one of the module's constants counted as a key."""
    emitted: dict[str, frozenset[str]] = {}
    for path in (path for folder in PRODUCT_CODE for path in sorted((ROOT / folder).rglob("*.py"))):
        tree = ast.parse(path.read_text())
        constants = _string_constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                name = _keyword(node, "name")
                if isinstance(name, ast.Constant):
                    emitted[name.value] = frozenset({"service"})
                elif isinstance(name, ast.JoinedStr):
                    pattern = "".join(
                        re.escape(part.value) if isinstance(part, ast.Constant) else "[A-Za-z]+" for part in name.values
                    )
                    emitted[f"^{pattern}$"] = frozenset({"service"})
                else:
                    emitted |= dict.fromkeys(_counted_keys(tree, constants), frozenset({"service"}))
            if isinstance(node, ast.With):
                for item in node.items:
                    call = item.context_expr
                    if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "single_metric":
                        dimensions = {
                            _keyword(inner, "name").value  # type: ignore[union-attr]
                            for inner in ast.walk(node)
                            if isinstance(inner, ast.Call) and getattr(inner.func, "attr", None) == "add_dimension"
                        }
                        emitted[_keyword(call, "name").value] = frozenset(dimensions)  # type: ignore[union-attr]
    return emitted


def dimensions_emitted_for(metric: str, emitted: dict[str, frozenset[str]]) -> frozenset[str] | None:
    if metric in emitted:
        return emitted[metric]
    return next((dims for name, dims in emitted.items() if name.startswith("^") and re.match(name, metric)), None)


PRODUCT_METRICS = [(metric, dimensions, title) for namespace, metric, dimensions, title in shown_metrics()
                   if namespace == NAMESPACE]  # fmt: skip


def test_dashboard_body_is_valid_json_once_substituted():
    assert set(DASHBOARD["Properties"]["DashboardBody"]) == {"Fn::Sub"}
    assert body()["widgets"]


def test_dashboard_every_widget_has_a_title():
    untitled = [widget for widget in body()["widgets"] if not widget["properties"].get("title", "").strip()]
    assert untitled == []


def test_dashboard_widgets_fit_the_grid_without_overlapping():
    taken: dict[tuple[int, int], str] = {}
    for widget in body()["widgets"]:
        title = widget["properties"]["title"]
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= GRID_COLUMNS, title
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in taken, f"{title} overlaps {taken[(x, y)]}"
                taken[(x, y)] = title


def test_dashboard_metric_widgets_are_in_the_stacks_region():
    assert {widget["properties"]["region"] for widget in metric_widgets()} == {PSEUDO_PARAMETERS["AWS::Region"]}


def test_emitted_metrics_are_read_from_the_code():
    # The reader itself: if it found nothing, every check below would pass vacuously.
    emitted = emitted_metrics()
    assert emitted["ClustersOnboarded"] == {"service"}
    assert emitted["QuarantinedEnvelopes"] == {"service"}  # a transform counter, named by a constant
    assert emitted["Sources"] == {"service", "status"}  # one per registry status, by Publish Run Summary
    assert dimensions_emitted_for("ClusterEventsStarted", emitted) == {"service"}
    assert dimensions_emitted_for("ClusterEventsRenamed9", emitted) is None


@pytest.mark.parametrize(("metric", "dimensions", "title"), PRODUCT_METRICS, ids=[m[0] for m in PRODUCT_METRICS])
def test_dashboard_product_metric_is_one_the_code_emits_with_its_dimensions(metric, dimensions, title):
    emitted = dimensions_emitted_for(metric, emitted_metrics())
    assert emitted is not None, f"{title}: no code publishes {NAMESPACE}/{metric}"
    assert set(dimensions) == emitted, f"{title}: {metric} is published with the dimensions {sorted(emitted)}"
    assert dimensions["service"] == SERVICE


def test_dashboard_shows_every_metric_the_code_emits():
    shown = {metric for metric, _, _ in PRODUCT_METRICS}
    missing = [name for name in emitted_metrics() if not (name in shown or any(re.match(name, s) for s in shown))]
    assert missing == [], "add these metrics to FleetDashboard in template.yaml"


def test_dashboard_shows_each_automatic_onboarding_decision():
    actions = get_args(Decision.model_fields["action"].annotation)
    expected = {f"ClusterEvents{action.title().replace('-', '')}" for action in actions}  # as the handler names them
    assert expected <= {metric for metric, _, _ in PRODUCT_METRICS}


def test_dashboard_workflow_metrics_are_the_template_state_machines():
    machines = {logical_id for logical_id, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::StateMachine"}
    shown = {
        dimensions["StateMachineArn"].removeprefix("resource:")
        for namespace, _, dimensions, _ in shown_metrics()
        if namespace == "AWS/States"
    }
    assert shown <= machines, "the dashboard names a state machine template.yaml does not define"
    assert machines <= shown, "every workflow's executions belong on the dashboard"


def test_dashboard_delivery_searches_cover_every_source_stream():
    firehose = [(metric, dims) for namespace, metric, dims, _ in shown_metrics() if namespace == "AWS/Firehose"]
    assert {metric for metric, _ in firehose} == {"DeliveryToS3.Success", "DeliveryToS3.Records"}
    for _, dimensions in firehose:
        # A partial-match search term matches a whole token of the name; a stream's name starts with that token.
        term = dimensions["DeliveryStreamName"]
        stream = delivery_stream_name(Source(account_id="111122223333", region="eu-west-1", cluster_id="orders"))
        assert re.fullmatch(r"[a-z]+", term) and stream.startswith(f"{term}-")


def test_dashboard_canary_and_silence_thresholds_are_the_stacks():
    [widget] = [w for w in metric_widgets() if "CanaryDelaySeconds" in json.dumps(w["properties"]["metrics"])]
    canary, silence = widget["properties"]["annotations"]["horizontal"]
    assert canary["value"] == TEMPLATE["Parameters"]["CanaryMaxDelaySeconds"]["Default"]
    assert silence["value"] == TEMPLATE["Parameters"]["SilentAfterMinutes"]["Default"]
    assert silence["yAxis"] == "right"  # minutes, beside LongestWithoutDeliveryMinutes


def test_dashboard_alarm_widget_shows_alarms_of_the_template():
    alarms = [alarm for w in body()["widgets"] if w["type"] == "alarm" for alarm in w["properties"]["alarms"]]
    named = {alarm.removeprefix("resource:").removesuffix(".Arn") for alarm in alarms}
    defined = {logical_id for logical_id, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert named == defined, "every alarm of template.yaml belongs on the dashboard's Alarms widget"


def test_dashboard_name_differs_per_region_and_its_url_is_an_output():
    # Dashboards are global to the account; the stack is deployed once per region.
    assert "${AWS::Region}" in DASHBOARD["Properties"]["DashboardName"]["Fn::Sub"]
    url = TEMPLATE["Outputs"]["FleetDashboardUrl"]["Value"]["Fn::Sub"]
    assert url.endswith("#dashboards/dashboard/${FleetDashboard}") and "region=${AWS::Region}" in url
