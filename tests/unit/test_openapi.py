import json

from functions.api.app import openapi_document
from local.__main__ import OPENAPI_PATH


def test_committed_openapi_document_is_up_to_date():
    # regenerate with: python -m local openapi
    assert json.loads(OPENAPI_PATH.read_text()) == json.loads(openapi_document())


def test_openapi_document_has_every_route():
    paths = json.loads(openapi_document())["paths"]
    assert set(paths) == {
        "/clusters",
        "/clusters/{account_id}/{region}/{cluster_id}",
        "/clusters/{account_id}/{region}/{cluster_id}/verify",
        "/accounts/{account_id}/adopt",
        "/accounts/{account_id}/adoptions/{adoption_id}",
        "/organization/adopt",
        "/organization/adoptions/{adoption_id}",
        "/instances",
        "/instances/{account_id}/{region}/{instance_id}",
        "/instances/{account_id}/{region}/{instance_id}/verify",
    }
    # DB instances are another identifier namespace than DB clusters: their own collection, same verbs.
    assert set(paths["/instances"]) == {"post"}
    assert set(paths["/instances/{account_id}/{region}/{instance_id}"]) == {"get", "delete"}
    assert set(paths["/instances/{account_id}/{region}/{instance_id}/verify"]) == {"post"}
    assert set(paths["/clusters"]) == {"get", "post"}
    assert set(paths["/clusters/{account_id}/{region}/{cluster_id}"]) == {"get", "delete"}
    assert set(paths["/clusters/{account_id}/{region}/{cluster_id}/verify"]) == {"post"}
    assert set(paths["/accounts/{account_id}/adopt"]) == {"post"}
