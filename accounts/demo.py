"""Demo people for `manage.py seed_demo`: idempotent, and the printed logins always work."""
from django.db import transaction

from .models import User
from .services import moderators_group_ensure, user_become_developer, user_make_moderator

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - published demo credentials, printed by seed_demo
ADMIN_PASSWORD = "admin-pass-123"  # noqa: S105

DEMO_USERS = [
    # email, username, role, password
    ("dev@modelmarket.local", "demo-dev", "developer", DEMO_PASSWORD),
    ("user@modelmarket.local", "demo-user", "user", DEMO_PASSWORD),
    ("mod@modelmarket.local", "demo-mod", "moderator", DEMO_PASSWORD),
    ("admin@modelmarket.local", "admin", "superuser", ADMIN_PASSWORD),
]


def demo_user(role: str) -> User:
    """The demo user with that role (for the other apps' demo data)."""
    email = next(email for email, _username, user_role, _password in DEMO_USERS if user_role == role)
    return User.objects.get(email=email)


def _ensure_user(email: str, username: str, password: str, *, superuser: bool = False) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        if superuser:
            user = User.objects.create_superuser(email=email, username=username, password=password)
        else:
            user = User.objects.create_user(email=email, username=username, password=password)
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    _ensure_verified_email(user)
    return user


def _ensure_verified_email(user: User) -> None:
    """So the logins work even when email verification is mandatory."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )


@transaction.atomic
def seed_demo(*, stdout) -> None:
    moderators_group_ensure()
    for email, username, role, password in DEMO_USERS:
        user = _ensure_user(email, username, password, superuser=role == "superuser")
        if role in ("developer", "superuser"):
            user_become_developer(user=user, accept_terms=True)
        if role == "moderator":
            user_make_moderator(user=user)
    stdout.write("Demo logins (email / password):")
    for email, _username, role, password in DEMO_USERS:
        stdout.write(f"  {role:<10} {email:<26} {password}")
