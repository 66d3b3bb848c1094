"""`pgaudit-archiver adopt` on the emulation (`python -m local cli --sample-fleet adopt`): a sample fleet to adopt."""

import io

from local import SOURCE_ACCOUNT
from local import cli as local_cli


def test_the_command_line_adopts_with_progress_and_a_final_table():
    out = io.StringIO()
    assert local_cli.main(["--sample-fleet", "adopt", SOURCE_ACCOUNT, "--wait"], out=out) == 0, out.getvalue()

    printed = out.getvalue()
    assert "adoption adopt-111122223333-eu-west-1-" in printed
    assert "succeeded: 4 onboarded, 0 failed, 0 onboarding (the account's sources)" in printed
    # The sample fleet: five clusters (three opted in) and a DB instance (opted in).
    assert "clusters   instances  planned  onboarded  failed  skipped\n" in printed
    assert "5                  1        4          4       0        2\n" in printed


def test_the_command_line_dry_run_prints_the_plan_and_the_reasons():
    out = io.StringIO()
    assert local_cli.main(["--sample-fleet", "adopt", SOURCE_ACCOUNT, "--dry-run", "--mode", "all"], out=out) == 0, (
        out.getvalue()
    )

    printed = out.getvalue()
    assert "DATABASE                RESULT         WHY\n" in printed
    assert "orders-db               would onboard\n" in printed
    assert "instance--inventory-db  would onboard\n" in printed
    unconsented = "the owner has not consented: not tagged pgaudit-archiver=enabled"
    assert f"reporting-db            skipped        {unconsented}" in printed
    assert "scratch-db              skipped        tagged pgaudit-archiver=disabled" in printed
