"""A fake Stripe HTTP server that the real `stripe` SDK talks to (see server.py)."""
from .server import FakeStripe

__all__ = ["FakeStripe"]
