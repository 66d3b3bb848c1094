"""Reads template.yaml the way the emulation needs it: functions, their environment, the state machine wiring."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE_TEMPLATE = ROOT / "template.yaml"
SOURCE_TEMPLATE = ROOT / "source-account" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
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
