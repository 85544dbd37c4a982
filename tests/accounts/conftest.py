import pytest

from tests.factories import AgentFactory, ConventionFactory, GestionnaireFactory
from tests.jobs.conftest import now  # noqa: F401 (the jobs' time travel, for the reviews' tests)


@pytest.fixture
def gestionnaire():
    """The partner of the log-in tests (test_sign_in.py, test_lockout.py), with a convention."""
    account = GestionnaireFactory(identifiant="m.pichon")
    ConventionFactory(structure=account.structure)
    return account


@pytest.fixture
def agent():
    return AgentFactory(identifiant="a.durand")
