"""Imported once by the sandbox's forkserver, so each sandboxed child starts with the ML stack loaded."""
import contextlib

with contextlib.suppress(ImportError):
    import torch  # noqa: F401
    import transformers  # noqa: F401
