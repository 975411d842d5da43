"""Settings for the test suite: the development settings, set explicitly (DEBUG defaults to off).

The variables go into `os.environ` so that worker subprocesses started by the tests read the same.
Tests of production behaviour override settings themselves or start a subprocess with DEBUG off.
"""
import os

os.environ.setdefault("DEBUG", "true")

from .settings import *  # noqa: E402,F403
