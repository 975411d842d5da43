"""Typed readers for settings that come from the environment (HackSoft's `config/env.py`)."""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


class ImproperlyConfiguredSecret(RuntimeError):
    """Raised at start-up when production lacks a secret it cannot run without."""


def require_in_production(name: str, value: str, *, debug: bool, insecure_default: str = "") -> str:
    """Refuse to start a production process with a missing or development-only secret."""
    if not debug and (not value or value == insecure_default):
        raise ImproperlyConfiguredSecret(f"{name} must be set when DEBUG is off.")
    return value
