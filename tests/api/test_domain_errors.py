"""The one error model (config/errors.py) mapped once to the API's error shape (config/api.py)."""
import pytest
from rest_framework.test import APIRequestFactory

from config.api import exception_handler
from config.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PaymentRequired,
    PermissionDenied,
    Throttled,
    Unavailable,
)


def answer(error: Exception):
    response = exception_handler(error, {"request": APIRequestFactory().get("/api/v1/x/"), "view": None})
    assert response is not None
    return response


@pytest.mark.parametrize(("error", "status", "code", "message"), [
    (InvalidInput(fields={"title": ["Too short."]}), 400, "invalid", "Too short."),
    (InvalidInput("Bad.", code="invalid_hyperparameters"), 400, "invalid_hyperparameters", "Bad."),
    (NotFound(), 404, "not_found", "Not found."),
    (PermissionDenied("Only moderators can pin threads."), 403, "permission_denied",
     "Only moderators can pin threads."),
    (PaymentRequired(), 402, "payment_required", "Insufficient funds."),
    (Conflict("You already flagged this post.", code="already_flagged"), 409, "already_flagged",
     "You already flagged this post."),
    (Unavailable(code="no_gpu_worker"), 503, "no_gpu_worker", "No worker can serve this request right now."),
    (Throttled("Slow down."), 429, "throttled", "Slow down."),
    (DomainError("Too big.", code="too_large", status=413), 413, "too_large", "Too big."),
])
def test_each_domain_error_answers_its_status_code_and_message(error, status, code, message):
    response = answer(error)
    assert response.status_code == status
    assert response.data == {"error": {"code": code, "message": message, "fields": error.fields}}


def test_fields_extra_and_headers_reach_the_answer():
    response = answer(PaymentRequired("Buy this app first.", extra={"checkout_url": "https://pay.example/x"}))
    assert response.data["error"]["checkout_url"] == "https://pay.example/x"
    response = answer(Throttled("Slow down.", headers={"Retry-After": "30"}))
    assert response["Retry-After"] == "30"
    response = answer(Conflict("Taken.", code="version_exists", fields={"version": ["Taken."]}))
    assert response.data["error"]["fields"] == {"version": ["Taken."]}


def test_invalid_input_answers_like_a_validation_error():
    """Without a message, the first field's message is the message: what a 400 has always looked like."""
    from django.core.exceptions import ValidationError

    error = InvalidInput(fields={"body": ["Write at least 3 characters."], "title": ["Too short."]})
    assert str(error) == "Write at least 3 characters."
    model = InvalidInput.from_validation_error(ValidationError({"name": ["This field cannot be blank."]}))
    assert answer(model).data == answer(ValidationError({"name": ["This field cannot be blank."]})).data
    plain = InvalidInput.from_validation_error(ValidationError("Moderators cannot be suspended."))
    assert answer(plain).data == answer(ValidationError("Moderators cannot be suspended.")).data
    assert InvalidInput.non_field("Nope.").fields == {"non_field_errors": ["Nope."]}


@pytest.mark.django_db
def test_a_service_conflict_reaches_the_client_in_the_error_shape(api_client, moderator):
    """End to end: community's post_flag raises config.errors.Conflict; the API answers 409 in the shape."""
    from community import services
    from tests.factories import UserFactory

    services.site_categories_ensure()
    from community.models import ForumCategory

    author = UserFactory()
    thread = services.thread_create(author=author, category=ForumCategory.objects.get(slug="general"),
                                    title="A thread to flag", body="Some body text", kind="discussion")
    post = thread.posts.get(number=1)
    api_client.force_authenticate(moderator)
    assert api_client.post(f"/api/v1/forum/posts/{post.pk}/flag/", {"reason": "spam"}).status_code == 201
    again = api_client.post(f"/api/v1/forum/posts/{post.pk}/flag/", {"reason": "spam"})
    assert again.status_code == 409
    assert again.json() == {"error": {"code": "already_flagged", "message": "You already flagged this post.",
                                      "fields": {}}}
