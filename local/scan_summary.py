"""Prints checkov's counts and every skip with its reason; fails on a failed check or a skip without a reason.

Skips come from two places: .checkov.yaml (checks skipped everywhere, each with its reason as the comment after
its id; checkov does not run them, so its report does not list them) and a resource's Metadata in a template
(checkov reports those as skipped, with the comment).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parents[1] / ".checkov.yaml"


def config_skips(config: Path) -> dict[str, str]:
    """Check id -> reason, for every check .checkov.yaml skips (an empty reason when its comment is missing)."""
    text = config.read_text()
    skipped = yaml.safe_load(text).get("skip-check") or []
    skipped = skipped.split(",") if isinstance(skipped, str) else skipped
    reasons = {}
    for check in skipped:
        comment = re.search(rf"^\s*-\s*{re.escape(check)}\s*#\s*(.*?)\s*$", text, re.MULTILINE)
        reasons[check] = comment.group(1) if comment else ""
    return reasons


def main(path: str, config: Path = CONFIG) -> int:
    with open(path) as report_file:
        report = json.load(report_file)
    reports = report if isinstance(report, list) else [report]
    failed = 0
    for result in reports:
        summary = result["summary"]
        print(f"checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['failed']} failed, "
              f"{summary['skipped']} skipped over {summary['resource_count']} resources")  # fmt: skip
        checks = result.get("results", {})
        for check in checks.get("failed_checks", []):
            print(f"  FAILED {check['check_id']} {check['resource']}: {check['check_name']}")
        reasons: dict[str, set[str]] = {}
        for check in checks.get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment") or ""
            reasons.setdefault(f"{check['check_id']} ({check['check_name']})", set()).add(reason)
        for check, why in sorted(reasons.items()):
            print(f"  skipped {check}: {' | '.join(sorted(why))}")
            if not all(why):
                print(f"  a skip of {check} has no reason")
                failed += 1
        failed += summary["failed"]
    for check, why in sorted(config_skips(config).items()):
        print(f"  skipped everywhere, not run ({config.name}) {check}: {why}")
        if not why:
            print(f"  the skip of {check} in {config.name} has no reason (a comment after its id)")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
