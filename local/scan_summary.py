"""Prints checkov's counts and every skip with its reason; fails on a failed check or a skip without a reason."""

from __future__ import annotations

import json
import sys


def main(path: str) -> int:
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
