"""Fixtures for issue 14's model cards, display currency and demo apps."""
import pytest
from django.test import Client


@pytest.fixture
def client_for():
    def make(user=None, *, language: str | None = None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        if language:
            client.cookies["django_language"] = language
        return client

    return make
