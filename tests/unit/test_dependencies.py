"""Dependencies point one way: local/ and tests/ use the product; the product and its command line never import them."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("layers", "functions")  # what Lambda runs
COMMAND_LINE = "cli"  # what `pip install` ships as the pgaudit-archiver console script
FORBIDDEN = {"local", "tests"}
DYNAMIC_IMPORTS = {"import_module", "__import__"}  # importlib.import_module("local.x"), __import__("local")


def imported_modules(source: str) -> set[str]:
    """Every module a source names in an import statement or a dynamic import of a constant string."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if function in DYNAMIC_IMPORTS and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def edits_sys_path(source: str) -> bool:
    """sys.path.insert/append/extend: how a module reaches a package it was not shipped with."""
    return any(
        isinstance(node, ast.Attribute)
        and node.attr in {"insert", "append", "extend"}
        and ast.unparse(node.value) == "sys.path"
        for node in ast.walk(ast.parse(source))
    )


def forbidden_imports(folder: str) -> dict[str, set[str]]:
    found = {}
    for path in python_files(folder):
        bad = {name for name in imported_modules(path.read_text()) if name.split(".")[0] in FORBIDDEN}
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_import_scan_finds_every_way_of_importing_the_emulation():
    source = """
import local
import local.world as world
from local.cli import run_locally
from tests import conftest
import importlib
importlib.import_module("local.world")
__import__("tests.helpers")
from . import models
from .aws import rds
"""
    assert imported_modules(source) == {
        "local", "local.world", "local.cli", "tests", "importlib", "tests.helpers"
    }  # fmt: skip


def test_sys_path_scan_finds_an_edit():
    assert edits_sys_path("import sys\nsys.path.insert(0, '/repo')\n")
    assert not edits_sys_path("import sys\nprint(sys.path)\n")


@pytest.mark.parametrize("folder", PRODUCT)
def test_product_modules_import_neither_local_nor_tests(folder):
    assert python_files(folder), f"no module under {folder}/: the scan would pass on nothing"
    assert forbidden_imports(folder) == {}


def test_command_line_imports_neither_local_nor_tests():
    assert python_files(COMMAND_LINE), f"no module under {COMMAND_LINE}/: the scan would pass on nothing"
    assert forbidden_imports(COMMAND_LINE) == {}


def test_product_and_command_line_never_edit_sys_path():
    editing = [
        str(path.relative_to(ROOT)) for path in python_files(*PRODUCT, COMMAND_LINE) if edits_sys_path(path.read_text())
    ]
    assert editing == []
