"""`pgaudit-archiver adopt` on the emulation (`python -m local cli --sample-fleet adopt`): a sample fleet to adopt."""

import io

from local import SOURCE_ACCOUNT
from local import cli as local_cli


def test_the_command_line_adopts_with_progress_and_a_final_table():
    out = io.StringIO()
    assert local_cli.main(["--sample-fleet", "adopt", SOURCE_ACCOUNT, "--wait"], out=out) == 0, out.getvalue()

    printed = out.getvalue()
    assert "adoption adopt-111122223333-eu-west-1-" in printed
    assert "succeeded: 3 onboarded, 0 failed, 0 onboarding (the account's sources)" in printed
    assert "clusters    planned  onboarded  failed  skipped" in printed
    assert "5                 3          3       0        2" in printed


def test_the_command_line_dry_run_prints_the_plan_and_the_reasons():
    out = io.StringIO()
    assert local_cli.main(["--sample-fleet", "adopt", SOURCE_ACCOUNT, "--dry-run", "--mode", "all"], out=out) == 0, (
        out.getvalue()
    )

    printed = out.getvalue()
    assert "CLUSTER       RESULT         WHY\n" in printed
    assert "orders-db     would onboard\n" in printed
    assert "reporting-db  skipped        the owner has not consented: not tagged pgaudit-archiver=enabled" in printed
    assert "scratch-db    skipped        tagged pgaudit-archiver=disabled" in printed
