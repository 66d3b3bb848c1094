"""A principal of the source account subscribes a log group it writes to the cluster's destination: the forged
lines arrive in the cluster's stream, and the transform keeps them under quarantine/, never in the archive."""

import time

from local import SOURCE_ACCOUNT

FORGED = "2026-11-25 10:00:00 UTC:10.0.0.9(5000):admin@appdb:[7]:LOG:  AUDIT: SESSION,1,1,ROLE,DROP ROLE,,,x,<none>"


def test_lines_from_another_log_group_are_quarantined_not_archived(world):
    world.create_cluster("orders", instances=1)
    execution = world.onboard(world.request("orders"))
    assert execution.status == "SUCCEEDED", execution.cause
    destination = execution.output["resources"]["destination_arn"]
    logs = world.client("logs", SOURCE_ACCOUNT)
    logs.create_log_group(logGroupName="/app/written-by-anyone")
    logs.create_log_stream(logGroupName="/app/written-by-anyone", logStreamName="orders-instance-1")
    logs.put_subscription_filter(
        logGroupName="/app/written-by-anyone", filterName="x", filterPattern="", destinationArn=destination
    )

    logs.put_log_events(
        logGroupName="/app/written-by-anyone",
        logStreamName="orders-instance-1",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": FORGED}],
    )

    quarantined = world.archived_records("quarantine/")
    assert [record["raw"] for record in quarantined] == [FORGED]
    assert quarantined[0]["_key"].startswith(f"quarantine/account={SOURCE_ACCOUNT}/region=eu-west-1/cluster=orders/")
    assert world.archived_records("pgaudit/") == []
