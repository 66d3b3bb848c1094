"""What several integration tests set up."""

import io
import zipfile

from local import SOURCE_ACCOUNT


def foreign_function(world) -> str:
    """A Lambda function of the source account's own, to stand for somebody else's subscription."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("f.py", "def h(e, c):\n    return None\n")
    iam = world.client("iam", SOURCE_ACCOUNT)
    role = iam.create_role(RoleName="foreign", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return world.client("lambda", SOURCE_ACCOUNT).create_function(
        FunctionName="foreign", Runtime="python3.13", Handler="f.h", Role=role, Code={"ZipFile": buffer.getvalue()}
    )["FunctionArn"]
