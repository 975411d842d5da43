"""Storages. `private` holds developers' artifacts and datasets and has no public URL."""
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.functional import cached_property


class PrivateFileSystemStorage(FileSystemStorage):
    """Files under `PRIVATE_MEDIA_ROOT`, never served: only owner-checked views stream them."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PRIVATE_MEDIA_ROOT)

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name):
        raise ValueError("Private files have no public URL; serve them through an owner-checked view.")


def private_storage() -> Storage:
    """A callable, so settings can swap the backend (S3 via django-storages) without a migration."""
    return storages["private"]
