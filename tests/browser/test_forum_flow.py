"""The forum end to end in Chromium: ask from an app's page, the developer answers, the asker accepts,
a moderator hides a flagged post from the admin's review queue."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from community import services
from community.models import ForumProfile, Post, Thread, TrustLevel
from marketplace.models import AppStatus
from tests.browser.helpers import fill, log_in, wait_text
from tests.factories import AppFactory, DeveloperFactory, ModeratorFactory, UserFactory, category
from tests.helpers import celery_eager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Notifications fan out in a Celery task; run it inline in the live server."""
    with celery_eager():
        yield


def test_ask_answer_accept_and_moderate(live_server, browser):
    base = live_server.url
    services.site_categories_ensure()
    dev = DeveloperFactory(username="mira-dev", email="mira@example.com")
    asker = UserFactory(username="sam", email="sam@example.com")
    moderator = ModeratorFactory(username="mod-kim", email="kim@example.com")
    app = AppFactory(owner=dev, slug="faq-search", name="FAQ Search", category=category("customer-service"),
                     tagline="Semantic search over your help centre",
                     description="Finds the FAQ entry closest to a customer's question.", status=AppStatus.PUBLISHED)
    forum = services.category_for_app_ensure(app=app)
    services.thread_create(author=dev, category=forum, title="Tips for writing good FAQ entries",
                           body="Short questions, one topic each.", kind="discussion")

    # 1. The user opens the app's "Discuss" and asks a question.
    log_in(browser, base, asker.email, next_url=f"/apps/{app.slug}/")
    browser.get(f"{base}/apps/{app.slug}/#discussion")
    discuss = browser.find_element(By.ID, "discuss")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", discuss)
    browser.shot("forum-01-app-page-discuss")
    discuss.click()
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "thread-form")))
    browser.find_element(By.CSS_SELECTOR, "input[name=kind][value=question]").click()
    fill(browser, "title", "Can I send several questions in one call?")
    fill(browser, "body", "I have **hundreds** of tickets a minute. Is there a batch input, @mira-dev?")
    browser.shot("forum-02-new-question")
    browser.find_element(By.ID, "create-thread").click()
    wait_text(browser, "Your thread is live.")
    thread = Thread.objects.get(title="Can I send several questions in one call?")
    assert thread.category == forum and thread.kind == "question"
    browser.shot("forum-03-question-posted")

    # 2. The developer answers; their post carries the Developer badge.
    log_in(browser, base, dev.email, next_url=thread.get_absolute_url())
    assert browser.find_element(By.CSS_SELECTOR, ".bell .badge-count").text.strip() != ""
    browser.get(base + thread.get_absolute_url())
    fill(browser, "body", "Yes: send `{\"texts\": [...]}` with up to 64 texts. You get one vector per text, "
                          "in order.\n\n```json\n{\"input\": {\"texts\": [\"refund?\", \"reset password\"]}}\n```")
    browser.find_element(By.ID, "post-reply").click()
    answer = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "post-2")))
    badge = answer.find_element(By.CSS_SELECTOR, ".role-developer")
    assert badge.is_displayed() and badge.text.strip().lower() == "developer"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", answer)
    browser.shot("forum-04-developer-answer")

    # 3. The asker accepts it; the answer shows on top and the list says solved.
    log_in(browser, base, asker.email, next_url=thread.get_absolute_url())
    browser.get(base + thread.get_absolute_url())
    browser.find_element(By.CSS_SELECTOR, "#post-2 button.accept").click()
    wait_text(browser, "The question now shows as solved.")
    box = browser.find_element(By.ID, "accepted-answer")
    assert "64 texts" in box.text and box.find_element(By.CSS_SELECTOR, ".role-developer").is_displayed()
    browser.shot("forum-05-accepted-on-top")
    thread.refresh_from_db()
    assert thread.accepted_post.author == dev
    browser.get(base + forum.get_absolute_url())
    row = browser.find_element(By.CSS_SELECTOR, f"li[data-thread='{thread.pk}']")
    assert "Solved" in row.text
    browser.shot("forum-06-solved-in-list")

    # 4. A spammer replies; the asker flags it; a moderator hides it from the admin's review queue.
    spammer = UserFactory(username="cheap-deals")
    spam = services.post_create(author=spammer, thread=thread, body="Cheap watches!!! Visit my shop")
    ForumProfile.objects.update_or_create(user=asker, defaults={"trust_level": TrustLevel.BASIC})
    browser.get(base + thread.get_absolute_url() + "?post=3#post-3")
    menu = browser.find_element(By.CSS_SELECTOR, "#post-3 details.flag-menu")
    menu.find_element(By.TAG_NAME, "summary").click()
    menu.find_element(By.CSS_SELECTOR, "input[value=spam]").click()
    browser.shot("forum-07-flag-menu")
    menu.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(browser, "Moderators will take a look.")
    spam.refresh_from_db()
    assert spam.flag_score == 2 and not spam.hidden

    log_in(browser, base, moderator.email, next_url="/admin/community/reviewqueueitem/")
    browser.get(f"{base}/admin/community/reviewqueueitem/")
    wait_text(browser, "Cheap watches")
    browser.shot("forum-08-review-queue")
    browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{spam.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("hide")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    wait_text(browser, "1 post(s) hidden.")
    browser.shot("forum-09-hidden-by-moderator")
    assert Post.objects.get(pk=spam.pk).hidden

    log_in(browser, base, asker.email, next_url=thread.get_absolute_url())
    browser.get(base + thread.get_absolute_url())
    assert "Cheap watches" not in browser.find_element(By.TAG_NAME, "main").text
    browser.get(f"{base}/forum/")
    browser.shot("forum-10-index")
    browser.get(f"{base}/forum/search/?q=batch+questions")
    wait_text(browser, "Can I send several questions in one call?")
    browser.shot("forum-11-search")
