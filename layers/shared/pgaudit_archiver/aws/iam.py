"""IAM calls in the archive account: the per-source destination roles."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG, ClientMaker


def _as_document(document: str | dict[str, Any]) -> dict[str, Any]:
    # IAM returns policy documents URL-encoded; boto3 decodes some of them into dicts already.
    if isinstance(document, dict):
        return document
    parsed: dict[str, Any] = json.loads(unquote(document))
    return parsed


class ArchiveIam:
    def __init__(self, session: ClientMaker) -> None:
        self._iam = guarded(session.client("iam", config=CLIENT_CONFIG))

    def role_usage(self) -> tuple[int, int]:
        """(roles in the account, the account's roles quota), from GetAccountSummary."""
        summary = self._iam.get_account_summary()["SummaryMap"]
        return int(summary["Roles"]), int(summary["RolesQuota"])

    def get_role(self, name: str) -> dict[str, Any] | None:
        with refused("NoSuchEntity"):
            role: dict[str, Any] = self._iam.get_role(RoleName=name)["Role"]
            role["AssumeRolePolicyDocument"] = _as_document(role["AssumeRolePolicyDocument"])
            return role
        return None

    def create_role(
        self, name: str, path: str, trust: dict[str, Any], boundary_arn: str, description: str, tags: dict[str, str]
    ) -> str:
        arn: str = self._iam.create_role(
            RoleName=name,
            Path=path,
            PermissionsBoundary=boundary_arn,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=description,
            MaxSessionDuration=3600,
            Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
        )["Role"]["Arn"]
        return arn

    def update_trust(self, name: str, trust: dict[str, Any]) -> None:
        self._iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))

    def get_inline_policy(self, role_name: str, policy_name: str) -> dict[str, Any] | None:
        with refused("NoSuchEntity"):
            return _as_document(self._iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"])
        return None

    def delete_role(self, name: str) -> bool:
        """Delete the role and its inline policies; False when there was no such role."""
        with refused("NoSuchEntity"):
            for policy in self._iam.list_role_policies(RoleName=name)["PolicyNames"]:
                self._iam.delete_role_policy(RoleName=name, PolicyName=policy)
            self._iam.delete_role(RoleName=name)
            return True
        return False

    def put_inline_policy(self, role_name: str, policy_name: str, document: dict[str, Any]) -> None:
        self._iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
