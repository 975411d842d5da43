"""Demo data for `manage.py seed_demo`: idempotent, called in order by the command."""


def seed_demo(*, stdout) -> None:
    """Nothing to add yet."""
