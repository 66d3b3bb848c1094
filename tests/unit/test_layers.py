"""Layers without cycles: handlers -> steps -> service -> aws -> models, each module importing only its own layer
or a lower one, and no module reaching itself through its imports."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "pgaudit_archiver"
FUNCTIONS = ROOT / "functions"

# Lowest first. A module's layer is the first whose prefix names it; every module of the package must have one.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "models",  # facts, names and rules with no AWS call: what every layer above may use
        (
            "pgaudit_archiver.models",
            "pgaudit_archiver.kinds",
            "pgaudit_archiver.status",
            "pgaudit_archiver.errors",
            "pgaudit_archiver.settings",
            "pgaudit_archiver.naming",
            "pgaudit_archiver.consent",
            "pgaudit_archiver.audit_policy",
            "pgaudit_archiver.events",
            "pgaudit_archiver.rds_events",
            "pgaudit_archiver.logline",
            "pgaudit_archiver.observability",
        ),
    ),
    ("aws", ("pgaudit_archiver.aws",)),  # data access: the only boto3 callers
    ("service", ("pgaudit_archiver.service",)),  # what the API and automatic onboarding share
    ("steps", ("pgaudit_archiver.steps", "pgaudit_archiver.transform")),  # one state's logic each
    ("handlers", ("pgaudit_archiver.handlers", "functions")),  # the Lambda entry points and their skeleton
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


def layer_of(module: str) -> str | None:
    for name, prefixes in LAYERS:
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return name
    return None


def module_name(path: Path) -> str:
    base = PACKAGE.parent if path.is_relative_to(PACKAGE) else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    files = [*PACKAGE.rglob("*.py"), *FUNCTIONS.rglob("*.py")]
    return {module_name(path): path for path in sorted(files)}


def imports_of(source: str, known: set[str]) -> set[str]:
    """The product modules a source imports (`from pgaudit_archiver import errors` names pgaudit_archiver.errors)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in graph.items()
        for target in targets
        if layer_of(module) and layer_of(target) and RANK[layer_of(target)] > RANK[layer_of(module)]  # type: ignore[index]
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle once, found by depth-first search."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            found.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    known = set(modules)
    return {name: imports_of(path.read_text(), known) - {name} for name, path in modules.items()}


def test_layers_every_product_module_has_a_layer():
    assert [name for name in product_modules() if name != "pgaudit_archiver" and layer_of(name) is None] == []


def test_layers_no_module_imports_a_higher_layer():
    assert upward_imports(import_graph()) == []


def test_layers_no_import_cycle():
    assert cycles(import_graph()) == []


def test_layers_check_flags_an_upward_import_and_a_cycle():
    graph = {
        "pgaudit_archiver.service": {"pgaudit_archiver.steps.register"},
        "pgaudit_archiver.steps.register": {"pgaudit_archiver.service"},
    }
    assert upward_imports(graph) == [
        "pgaudit_archiver.service (service) imports pgaudit_archiver.steps.register (steps)"
    ]
    service, register = "pgaudit_archiver.service", "pgaudit_archiver.steps.register"
    assert cycles(graph) == [[service, register, service]]


def test_layers_import_scan_reads_every_form_of_import():
    known = {"pgaudit_archiver.errors", "pgaudit_archiver.steps.register", "pgaudit_archiver.aws.rds"}
    source = (
        "from pgaudit_archiver import errors\n"
        "import pgaudit_archiver.aws.rds\n"
        "from pgaudit_archiver.steps.register import source_of\n"
    )
    assert imports_of(source, known) == known
