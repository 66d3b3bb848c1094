"""Reads template.yaml the way the emulation needs it: functions, their environment, the state machine wiring."""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pgaudit_archiver.settings import Settings, settings_of

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE_TEMPLATE = ROOT / "template.yaml"
SOURCE_TEMPLATE = ROOT / "source-account" / "template.yaml"


# libyaml's loader where PyYAML was built with it: the pure-Python one takes most of a world's deployment.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_BaseLoader):  # type: ignore[misc]
    """Loads CloudFormation short-form intrinsics (!Ref, !Sub, ...) as {"Ref": ...}/{"Fn::Sub": ...}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """The template as a new dict each time (callers may change theirs); parsed once per file version."""
    stat = path.stat()
    return copy.deepcopy(_parsed(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> str:
        """The handler's module as Python imports it from the repository root, e.g. functions.x.app."""
        module_file = self.handler.rsplit(".", 1)[0]
        return ".".join([*Path(self.code_uri).parts, module_file])

    @property
    def function_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]


def archive_functions(template: dict[str, Any]) -> list[FunctionSpec]:
    globals_ = template.get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        env = {**global_env, **properties.get("Environment", {}).get("Variables", {})}
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=properties["CodeUri"].rstrip("/"),
                handler=properties.get("Handler", globals_.get("Handler")),
                environment=env,
            )
        )
    return specs


def parameter_defaults(template: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}


def state_machine_substitutions(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]["DefinitionSubstitutions"]


# ---------------------------------------------------------------- rendering with parameter values
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "eu-west-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "pgaudit-archiver",
    "AWS::URLSuffix": "amazonaws.com",
}
_NO_VALUE = object()
_SUB_REFERENCE = re.compile(r"\$\{(!?)([^}]+)\}")
Reference = Callable[[str, "str | None"], Any]


def parameter_values(template: dict[str, Any], given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each parameter's value as CloudFormation passes it: the given or the default, a CommaDelimitedList split."""
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        value = (given or {}).get(name, spec.get("Default"))
        if value is None:
            raise ValueError(f"parameter {name} has no default: give it a value")
        values[name] = value.split(",") if spec["Type"] == "CommaDelimitedList" and isinstance(value, str) else value
    return values


class Rendering:
    """The template as CloudFormation sees it for one set of parameter values: conditions decided, Fn::If taken,
    AWS::NoValue dropped, parameters and pseudo parameters put in, resources whose Condition is false left out.
    A Ref or GetAtt of a resource stays as written unless `reference(logical_id, attribute)` gives it a value."""

    def __init__(
        self, template: dict[str, Any], parameters: dict[str, Any] | None = None, reference: Reference | None = None
    ) -> None:
        self.template = template
        self.parameters = {**PSEUDO_PARAMETERS, **parameter_values(template, parameters)}
        self._reference = reference
        self._conditions: dict[str, bool] = {}

    @property
    def resources(self) -> dict[str, Any]:
        kept = {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }
        return {logical_id: self.resolve(resource) for logical_id, resource in kept.items()}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self.holds(self.template["Conditions"][name])
        return self._conditions[name]

    def holds(self, expression: Any) -> bool:
        """A condition or rule expression (Fn::Equals, Not, And, Or, Contains, Condition) with these parameters."""
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (self.resolve(value) for value in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.holds(argument[0])
        if function == "Fn::And":
            return all(self.holds(item) for item in argument)
        if function == "Fn::Or":
            return any(self.holds(item) for item in argument)
        if function == "Fn::Contains":
            values, value = (self.resolve(item) for item in argument)
            return str(value) in [str(item) for item in values]
        raise NotImplementedError(f"condition function {function}")

    def failed_rules(self) -> dict[str, list[str]]:
        """The template's Rules whose assertions fail for these parameters: rule name -> AssertDescriptions."""
        failed = {}
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.holds(rule["RuleCondition"]):
                continue
            messages = [a.get("AssertDescription", name) for a in rule["Assertions"] if not self.holds(a["Assert"])]
            if messages:
                failed[name] = messages
        return failed

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                if argument == "AWS::NoValue":
                    return _NO_VALUE
                if argument in self.parameters:
                    return self.parameters[argument]
                return self._resource(argument, None, value)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument
                return self._resource(logical_id, attribute, value)
            if function == "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition(name) else when_false)
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::Join":
                separator, items = argument[0], self.resolve(argument[1])
                if isinstance(items, list) and all(isinstance(item, str) for item in items):
                    return separator.join(items)
                return {function: [separator, items]}
            if function == "Fn::Split":
                separator, text = argument[0], self.resolve(argument[1])
                return text.split(separator) if isinstance(text, str) else {function: [separator, text]}
        if isinstance(value, dict):
            items = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in items.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not _NO_VALUE]
        return value

    def _resource(self, logical_id: str, attribute: str | None, written: Any) -> Any:
        resolved = self._reference(logical_id, attribute) if self._reference else None
        return written if resolved is None else resolved

    def _sub(self, argument: Any) -> Any:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {name: self.resolve(item) for name, item in variables.items()}

        def put(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:
                return "${" + name + "}"
            if name in variables:
                return str(variables[name])
            if name in self.parameters:
                return str(self.parameters[name])
            logical_id, _, attribute = name.partition(".")
            resolved = self._resource(logical_id, attribute or None, None)
            return match.group(0) if resolved is None else str(resolved)

        return _SUB_REFERENCE.sub(put, text)


# ---------------------------------------------------------------- the stack's environment, for tools and tests
# The Lambda layer does not ship template.yaml: only tooling and tests read the defaults from it.
_ARN_OF_REF = {  # what Ref gives for a resource that has no name in the template (CloudFormation names it)
    "AWS::IAM::ManagedPolicy": "arn:{partition}:iam::{account}:policy/{name}",
    "AWS::Serverless::StateMachine": "arn:{partition}:states:{region}:{account}:stateMachine:{name}",
    "AWS::StepFunctions::StateMachine": "arn:{partition}:states:{region}:{account}:stateMachine:{name}",
}
_ARN_OF_GETATT = {
    "AWS::IAM::Role": "arn:{partition}:iam::{account}:role/{name}",
    "AWS::Serverless::Function": "arn:{partition}:lambda:{region}:{account}:function:{name}",
}
_NAME_PROPERTIES = ("Name", "TableName", "BucketName", "RoleName", "FunctionName", "ManagedPolicyName")


def _placeholder(rendering: Rendering, logical_id: str, attribute: str | None) -> str:
    """A deployed resource's Ref or Arn: its name as the template writes it, else `<stack>-<LogicalId>`."""
    resource = rendering.template["Resources"][logical_id]
    properties = resource.get("Properties", {})
    written = next((properties[key] for key in _NAME_PROPERTIES if key in properties), None)
    stack = rendering.parameters["AWS::StackName"]
    name = str(rendering.resolve(written)) if written is not None else f"{stack}-{logical_id}"
    pattern = (_ARN_OF_GETATT if attribute == "Arn" else _ARN_OF_REF).get(resource["Type"], "{name}")
    return pattern.format(
        partition=rendering.parameters["AWS::Partition"],
        region=rendering.parameters["AWS::Region"],
        account=rendering.parameters["AWS::AccountId"],
        name=name,
    )


def _refs(value: Any) -> set[str]:
    """The parameters and pseudo parameters a value names (Ref, or ${Name} in a Sub)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return {value["Ref"]}
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return {name for literal, name in _SUB_REFERENCE.findall(text) if not literal}
        return set().union(*(_refs(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_refs(item) for item in value))
    return set()


def stack_defaults(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Every function's environment as the stack deploys it with the template's parameter defaults (Globals, then
    each function's own), resources named as CloudFormation would; variables with no default (the archive's account,
    the external id) are left out."""
    template = template or load_template(ARCHIVE_TEMPLATE)
    undefaulted = {name for name, spec in template.get("Parameters", {}).items() if "Default" not in spec}
    undefaulted.add("AWS::AccountId")  # the account deployed to
    holder: list[Rendering] = []
    rendering = Rendering(
        template,
        dict.fromkeys(undefaulted - set(PSEUDO_PARAMETERS), ""),
        reference=lambda logical_id, attribute: _placeholder(holder[0], logical_id, attribute),
    )
    holder.append(rendering)
    variables = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            for name, value in resource.get("Properties", {}).get("Environment", {}).get("Variables", {}).items():
                variables.setdefault(name, value)
    resolved = {name: rendering.resolve(value) for name, value in variables.items() if not _refs(value) & undefaulted}
    return {name: str(value) for name, value in resolved.items() if isinstance(value, str | int | float)}


@functools.cache
def _stack_defaults() -> dict[str, str]:
    return stack_defaults()


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """The whole stack's settings from `environ` (default: this process's), the template's defaults filling gaps."""
    return settings_of({**_stack_defaults(), **(os.environ if environ is None else environ)})
