import ast
import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from botocore.paginate import PageIterator, Paginator

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.errors import (
    AwsRequestError,
    AwsServiceUnavailableError,
    ClusterNotEligibleError,
    ThrottledError,
    from_client_error,
)
from pgaudit_archiver.steps.failure import describe_failure


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "nope"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "DescribeDBClusters",
    )


def test_throttling_in_each_service_spelling_is_transient():
    for code in ("Throttling", "ThrottlingException", "TooManyRequestsException"):
        assert isinstance(from_client_error(client_error(code)), ThrottledError)


def test_server_errors_are_transient_and_validation_errors_are_not():
    assert isinstance(from_client_error(client_error("InternalFailure", 500)), AwsServiceUnavailableError)
    error = from_client_error(client_error("InvalidParameterValue"))
    assert type(error) is AwsRequestError
    assert "InvalidParameterValue" in str(error)


def test_error_message_names_step_source_code_and_remedy():
    error = ClusterNotEligibleError("the cluster is stopped", aws_error_code="X1", remedy="start it")
    error.add_context(step="Validate Request", source="cluster c in account 1 (r)")
    assert str(error) == (
        "Validate Request failed for cluster c in account 1 (r): the cluster is stopped (AWS error code: X1). "
        "What to do: start it"
    )


def test_failure_of_a_crash_names_the_step_from_history_and_the_cluster():
    request = {"account_id": "111122223333", "region": "eu-west-1", "cluster_id": "orders"}
    cause = json.dumps({"errorType": "KeyError", "errorMessage": "'DBClusterArn'"})
    described = describe_failure(request, {"Error": "KeyError", "Cause": cause}, "Configure Parameter Group")
    assert described.cause.startswith("Configure Parameter Group failed for cluster orders in account 111122223333")
    assert "'DBClusterArn'" in described.cause


def test_failure_of_our_error_keeps_its_message():
    cause = json.dumps({"errorType": "ClusterNotEligibleError", "errorMessage": "Validate Request failed for x: y"})
    described = describe_failure({}, {"Error": "ClusterNotEligibleError", "Cause": cause}, "Validate Request")
    assert described.cause == "Validate Request failed for x: y"


class RefusedOnSecondPage(PageIterator):
    def __init__(self) -> None:  # no botocore machinery: the pages are made up
        pass

    def __iter__(self):
        yield {"Parameters": []}
        raise client_error("AccessDenied")


class StubPaginator(Paginator):
    def __init__(self) -> None:
        pass

    def paginate(self, **_):
        return RefusedOnSecondPage()


class StubClient:
    """Stands in for a boto3 client: one call refused, one paginated call refused on its second page."""

    def describe_db_clusters(self, **_):
        raise client_error("ThrottlingException")

    def get_paginator(self, operation):
        return StubPaginator()


def test_guarded_client_raises_the_project_error_naming_the_code():
    with pytest.raises(ThrottledError) as raised:
        guarded(StubClient()).describe_db_clusters(DBClusterIdentifier="orders")
    assert "(AWS error code: ThrottlingException)" in str(raised.value)
    assert isinstance(raised.value.__cause__, ClientError)


def test_guarded_paginator_translates_a_refusal_while_iterating():
    pages = (
        guarded(StubClient()).get_paginator("describe_db_cluster_parameters").paginate(DBClusterParameterGroupName="g")
    )
    with pytest.raises(AwsRequestError, match="AccessDenied"):
        list(pages)


def test_refused_turns_only_the_named_codes_into_an_answer():
    with refused("NoSuchEntity", "Gone") as refusal:
        raise AwsRequestError("GetRole was refused", aws_error_code="Gone")
    assert refusal.code == "Gone"
    with pytest.raises(ThrottledError), refused("NoSuchEntity"):
        raise ThrottledError("GetRole was refused", aws_error_code="Throttling")


def test_errors_every_exception_class_of_the_product_is_defined_in_errors_py():
    # A class name is an API and ASL error name: one module lists them all, so none is defined twice or missed.
    root = Path(__file__).resolve().parents[2]
    errors_module = root / "layers" / "shared" / "pgaudit_archiver" / "errors.py"
    elsewhere = [
        f"{path.relative_to(root)}: {node.name}"
        for folder in ("layers", "functions")
        for path in sorted((root / folder).rglob("*.py"))
        if path != errors_module
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base).endswith(("Error", "Exception")) for base in node.bases)
    ]
    assert elsewhere == []
