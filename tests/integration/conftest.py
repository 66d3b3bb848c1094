import pytest

from local import World


@pytest.fixture
def world():
    with World() as emulated:
        yield emulated
