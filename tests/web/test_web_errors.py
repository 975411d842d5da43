"""The one error model (config/errors.py) mapped once to HTML (config/web_errors.py): form errors, messages."""
import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse

from config.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Throttled
from config.web_errors import DomainErrorMiddleware, errors_as_messages, form_add_error, message_error


class AppishForm(forms.Form):
    title = forms.CharField(required=False)
    max_price = forms.CharField(required=False)
    pricing_model = forms.CharField(required=False)


def page_request():
    request = RequestFactory().get("/somewhere/")
    request._messages = CookieStorage(request)
    return request


def test_a_field_error_lands_on_the_named_field():
    form = AppishForm(data={})
    form.is_valid()
    form_add_error(form, InvalidInput(fields={"title": ["Give the thread a longer title."]}))
    assert form.errors == {"title": ["Give the thread a longer title."]}


def test_dotted_api_names_and_the_field_map_find_the_form_field():
    form = AppishForm(data={})
    form.is_valid()
    form_add_error(form, InvalidInput(fields={"pricing.max_price": ["Below the base price."],
                                              "pricing": ["Unknown model."]}), {"pricing": "pricing_model"})
    assert form.errors == {"max_price": ["Below the base price."], "pricing_model": ["Unknown model."]}


def test_a_message_that_says_more_than_its_field_messages_is_shown_above_the_form():
    form = AppishForm(data={})
    form.is_valid()
    form_add_error(form, InvalidInput("The file is 600 bytes; the limit is 500.",
                                      fields={"input.title": ["Too large."]}))
    assert form.errors["title"] == ["Too large."]
    assert form.non_field_errors() == ["The file is 600 bytes; the limit is 500."]


def test_errors_without_a_matching_field_go_above_the_form():
    form = AppishForm(data={})
    form.is_valid()
    form_add_error(form, InvalidInput(fields={"versions": ["Add a version first."]}))
    form_add_error(form, PermissionDenied("Only the owner can submit this app."))
    form_add_error(form, Throttled("You can write 10 posts an hour."))
    assert form.non_field_errors() == ["Add a version first.", "Only the owner can submit this app.",
                                       "You can write 10 posts an hour."]


def test_a_conflict_with_fields_shows_on_the_field_and_a_django_validation_error_too():
    form = AppishForm(data={})
    form.is_valid()
    form_add_error(form, Conflict("Already reviewed.", code="already_reviewed",
                                  fields={"title": ["Already reviewed."]}))
    form_add_error(form, ValidationError({"max_price": ["Too high."]}))
    form_add_error(form, ValidationError("Something about the whole form."))
    assert form.errors["title"] == ["Already reviewed."]
    assert form.errors["max_price"] == ["Too high."]
    assert form.non_field_errors() == ["Something about the whole form."]


def test_message_error_flashes_one_message_per_error():
    request = page_request()
    message_error(request, Conflict("This app is not available.", code="not_available",
                                    fields={"app": ["This app is not available."]}))
    message_error(request, InvalidInput(fields={"body": ["Write at least 3 characters."]}))
    assert [str(m) for m in get_messages(request)] == ["This app is not available.", "Write at least 3 characters."]
    assert all(m.level_tag == "error" for m in get_messages(request))


def test_errors_as_messages_flashes_and_tells_the_view():
    request = page_request()
    with errors_as_messages(request) as outcome:
        raise PermissionDenied("Only moderators can lock threads.")
    assert outcome["failed"] is True
    assert [str(m) for m in get_messages(request)] == ["Only moderators can lock threads."]
    with errors_as_messages(request) as outcome:
        pass
    assert outcome["failed"] is False


@pytest.mark.parametrize(("error", "status"), [(PermissionDenied("No."), 403), (NotFound(), 404)])
def test_an_escaped_domain_error_answers_like_djangos_own(error, status):
    middleware = DomainErrorMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/forum/"), error).status_code == status
    api = middleware.process_exception(RequestFactory().get("/api/v1/forum/threads/"), error)
    assert api.status_code == status and api["Content-Type"] == "application/json"
    assert middleware.process_exception(RequestFactory().get("/forum/"), Conflict()) is None


@pytest.mark.django_db
def test_a_forum_page_shows_a_service_error_on_the_field(client_for, user):
    """thread_create refuses a short title (InvalidInput on `title`): the page shows it next to the field."""
    from community import services

    services.site_categories_ensure()
    response = client_for(user).post(reverse("community:thread_new"), {
        "category": "general", "kind": "discussion", "title": "Short", "body": "A body long enough."})
    assert response.status_code == 400
    assert response.context["form"].errors["title"] == ["Give the thread a title of at least 8 characters."]
    assert "at least 8 characters" in response.content.decode()


@pytest.mark.django_db
def test_a_forum_action_shows_a_service_error_as_a_message(client_for, user):
    """A refused like (your own post: PermissionDenied) comes back as a flash message on the thread."""
    from community import services
    from community.models import ForumCategory

    services.site_categories_ensure()
    thread = services.thread_create(author=user, category=ForumCategory.objects.get(slug="general"),
                                    title="My own thread", body="Some body text", kind="discussion")
    post = thread.posts.get(number=1)
    response = client_for(user).post(reverse("community:post_like", kwargs={"pk": post.pk}), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["You cannot like your own post."]
