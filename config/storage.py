"""Storages. `private` holds developers' artifacts and datasets and has no public URL."""
from django.core.files.storage import Storage, storages


def private_storage() -> Storage:
    """A callable, so settings can swap the backend (S3 via django-storages) without a migration."""
    return storages["private"]
