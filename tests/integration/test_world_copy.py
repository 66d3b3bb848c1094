"""A world whose deployment is copied from an earlier one of the same settings (local/world.py, _Deployment) holds
exactly what a deployment makes: in moto, in the emulation's functions and in IAM's enforcement."""

from moto.s3.models import s3_backends

import local.world
from local import SOURCE_ACCOUNT, World


def deployed(world: World) -> dict:
    """What the deployment made, as the APIs list it, and what the emulation registered."""
    iam, source_iam = world.client("iam"), world.client("iam", SOURCE_ACCOUNT)
    s3, sfn, glue = world.client("s3"), world.client("stepfunctions"), world.client("glue")
    bucket = world.resources["ArchiveBucket"]

    def roles(client) -> dict:
        return {
            role["RoleName"]: (
                role["AssumeRolePolicyDocument"],
                {name: client.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
                 for name in client.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]},
                sorted(p["PolicyArn"] for p in client.list_attached_role_policies(RoleName=role["RoleName"])[
                    "AttachedPolicies"]),
            )
            for role in client.list_roles()["Roles"]
        }  # fmt: skip

    databases = [d["Name"] for d in glue.get_databases()["DatabaseList"]]
    return {
        "roles": roles(iam),
        "source roles": roles(source_iam),
        "policies": sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]),
        "functions": sorted(
            (f["FunctionName"], f["Role"], f["Handler"]) for f in world.client("lambda").list_functions()["Functions"]
        ),
        "machines": sorted(
            (m["name"], sfn.describe_state_machine(stateMachineArn=m["stateMachineArn"])["definition"])
            for m in sfn.list_state_machines()["stateMachines"]
        ),
        "tables": world.client("dynamodb").list_tables()["TableNames"],
        "glue": {db: sorted(t["Name"] for t in glue.get_tables(DatabaseName=db)["TableList"]) for db in databases},
        "bucket": (
            s3.get_bucket_policy(Bucket=bucket)["Policy"],
            s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
            s3.get_bucket_versioning(Bucket=bucket)["Status"],
            s3_backends.bucket_accounts.get(bucket),  # where local/iam.py finds the bucket policy
        ),
        "resources": world.resources,
        "in-process functions": {
            name: (f.arn, f.handler, f.environment) for name, f in world.lambdas.functions.items()
        },
        "function roles": world.iam.function_roles,
        "AWS managed attachments": world.iam.aws_managed_attachments,
    }


def test_a_copied_deployment_holds_what_a_deployment_makes(monkeypatch):
    monkeypatch.setattr(local.world, "_DEPLOYMENTS", {})
    settings = {"parameters": {"AutoRepair": "false"}, "source_accounts": (SOURCE_ACCOUNT, "444455556666")}
    with World(**settings) as first:
        made = deployed(first)
    assert len(local.world._DEPLOYMENTS) == 1
    with World(**settings) as copied:
        assert deployed(copied) == made
        # and it works: the bucket's account is known to S3 again, the workflows run
        copied.create_cluster("orders")
        assert copied.onboard(copied.request("orders")).status == "SUCCEEDED"
    assert len(local.world._DEPLOYMENTS) == 1


def test_other_settings_are_deployed_again(monkeypatch):
    monkeypatch.setattr(local.world, "_DEPLOYMENTS", {})
    with World():
        pass
    with World(parameters={"AutoRepair": "false"}):
        pass
    assert len(local.world._DEPLOYMENTS) == 2
