"""docs/parameters.md against template.yaml: every parameter documented once, with the template's default."""

import re

from local.template import ARCHIVE_TEMPLATE, ROOT, load_template

DOC = ROOT / "docs" / "parameters.md"
ROW = re.compile(r"^\| `([A-Za-z0-9]+)` \| ([^|]*) \|", re.MULTILINE)


def documented() -> list[tuple[str, str]]:
    return [(name, default.strip()) for name, default in ROW.findall(DOC.read_text())]


def as_documented(default: object) -> str:
    """How the table writes a default: `value` in backquotes, a comma-separated list item by item, or empty."""
    if default is None:
        return "(required)"
    text = str(default)
    if text == "":
        return "empty"
    return ", ".join(f"`{item}`" for item in text.split(",")) if "," in text and " " in text else f"`{text}`"


def test_every_template_parameter_is_documented_once_and_nothing_else() -> None:
    names = [name for name, _ in documented()]
    parameters = load_template(ARCHIVE_TEMPLATE)["Parameters"]
    assert sorted(names) == sorted(parameters), "docs/parameters.md and template.yaml list different parameters"
    assert len(names) == len(set(names))


def test_each_documented_default_is_the_templates() -> None:
    parameters = load_template(ARCHIVE_TEMPLATE)["Parameters"]
    for name, default in documented():
        expected = as_documented(parameters[name].get("Default"))
        # An empty default may say what it means ("empty (off)"); anything else is the value itself.
        assert default == expected or (expected == "empty" and default.startswith("empty ")), (name, default, expected)
