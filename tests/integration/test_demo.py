"""`make demo`, the main job, as a user runs it: a fresh process with no test settings in its environment."""

import json
import os
import subprocess
import sys

import pytest

from local.template import ROOT

pytestmark = pytest.mark.postgres


def test_demo_onboards_and_archives_what_the_database_audited():
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("POWERTOOLS_", "AWS_"))}
    finished = subprocess.run(
        [sys.executable, "-m", "local", "demo", "--json"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    document = json.loads(finished.stdout)
    assert document["ok"] is True
    assert document["execution"]["status"] == "SUCCEEDED"
    assert any(record.get("audit_type") == "SESSION" for record in document["archived_records"])
    assert document["rerun"]["calls"]["source"]["mutating"] == document["rerun"]["calls"]["archive"]["mutating"] == 0
