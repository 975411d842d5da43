"""Fixtures for the server-rendered pages: Django's test client logged in as our factory users."""
import io

import pytest
from django.test import Client
from PIL import Image


@pytest.fixture
def client_for():
    def make(user=None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


def png_bytes(size: tuple[int, int] = (64, 64), fmt: str = "PNG", color=(91, 76, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()
