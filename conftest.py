"""Fixtures shared by every app's tests."""

import pytest
from django.db import connection

from inventory.tests.factories import default_warehouse
from sales.tests.factories import StaffFactory, UserFactory


@pytest.fixture
def warehouse(db):
    return default_warehouse()


@pytest.fixture
def seller(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def boss(db):
    """A staff superuser: every admin permission."""
    return StaffFactory(is_superuser=True)


@pytest.fixture
def boss_client(boss):
    """Django's test client signed in as `boss`: the admin pages' tests."""
    from django.test import Client

    client = Client()
    client.force_login(boss)
    return client


def pytest_collection_modifyitems(config, items):
    """Skip tests that need PostgreSQL when the suite runs on SQLite, saying why."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); .ci/run runs it there")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def api_client():
    """`api_client(user)` → a DRF test client sending that user's bearer token (anonymous without one)."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
        return client

    return make
