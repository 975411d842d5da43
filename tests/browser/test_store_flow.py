"""The store end to end in Chromium: publish an app, approve it in the admin, find it, get it and review it."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from marketplace.models import App, AppStatus, Category, LibraryEntry, PricingModel, Review
from tests.browser.helpers import fill, log_in, wait_text
from tests.factories import DEFAULT_PASSWORD, AppFactory, DeveloperFactory, ModeratorFactory, UserFactory, category
from tests.helpers import celery_eager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CATEGORY_NAMES = {"customer-service": "Customer service", "finance": "Finance", "games": "Games",
                  "education": "Education", "healthcare": "Healthcare"}
NEIGHBOURS = [
    ("FAQ Search", "Semantic search over your help centre", "customer-service", "free"),
    ("Finance Sentiment", "Bullish or bearish? Scores financial headlines", "finance", "per_call"),
    ("NPC Dialogue", "Believable lines for your game characters", "games", "per_call"),
    ("Shape Classifier", "Tells circles, squares and triangles apart", "education", "free"),
    ("Triage Notes", "Summarises clinical notes into a triage level", "healthcare", "per_call"),
]


@pytest.fixture(scope="session")
def haiku_model(tmp_path_factory):
    """A tiny, randomly initialised BERT text classifier (safetensors + tokenizer), zipped as developers upload it."""
    from inference.runtimes import demo_models

    root = tmp_path_factory.mktemp("haiku-model")
    demo_models.build_tiny_bert(root / "model", labels=["dull", "moving"],
                                texts=["an old silent pond", "a frog jumps in", "the sound of water"])
    return demo_models.zip_folder(root / "model", root / "haiku-critic.zip")


@pytest.fixture
def eager_validation(settings, tmp_path):
    """Validate uploaded models in the web process at commit time, as a worker would (no worker needed)."""
    settings.MODEL_DIR = str(tmp_path / "models")
    with celery_eager(propagates=False):
        yield


def test_publish_approve_find_get_review(live_server, browser, haiku_model, eager_validation):
    base = live_server.url
    for slug, name in CATEGORY_NAMES.items():  # a transactional test starts from a flushed database
        Category.objects.update_or_create(slug=slug, defaults={"name": name})
    neighbours_owner = DeveloperFactory(username="acme-ai")
    for index, (name, tagline, slug, pricing) in enumerate(NEIGHBOURS):
        AppFactory(owner=neighbours_owner, name=name, tagline=tagline, category=category(slug),
                   pricing_model=pricing, base_price="0.004" if pricing == "per_call" else "0",
                   max_price="0.02" if pricing == "per_call" else "0", runs_count=1200 - index * 170,
                   rating_sum=(5 - index % 2) * 3, reviews_count=3, featured=index < 3)

    # 1. A new user signs up, becomes a developer, creates an app, adds a version and submits it.
    browser.get(f"{base}/accounts/signup/")
    fill(browser, "email", "ada@example.com")
    fill(browser, "username", "ada")
    fill(browser, "password1", DEFAULT_PASSWORD)
    fill(browser, "password2", DEFAULT_PASSWORD)
    browser.shot("signup")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "details.menu")))

    browser.get(f"{base}/settings/developer/")
    browser.find_element(By.ID, "become-developer").click()
    wait_text(browser, "accept the developer terms")  # inline error: the box was not ticked
    browser.find_element(By.NAME, "accept_terms").click()
    browser.find_element(By.ID, "become-developer").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "new-app")))

    browser.find_element(By.ID, "new-app").click()
    fill(browser, "name", "Haiku Critic")
    fill(browser, "tagline", "Scores your haiku for syllables and mood")
    fill(browser, "description", "## What it does\n\nSend a haiku, get a **score**.\n\n- syllables\n- mood")
    Select(browser.find_element(By.NAME, "category")).select_by_visible_text("Education")
    fill(browser, "tags", "poetry, nlp")
    browser.shot("console-new-app")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "submit-problem")))
    browser.shot("console-app")

    browser.find_element(By.ID, "add-version").click()
    fill(browser, "version", "1.0.0")
    fill(browser, "changelog", "First release.")
    Select(browser.find_element(By.NAME, "task")).select_by_value("text-classification")
    Select(browser.find_element(By.NAME, "framework")).select_by_value("transformers")
    browser.find_element(By.NAME, "artifact").send_keys(str(haiku_model))
    browser.shot("console-add-version")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    # The upload posts with XHR, the model is validated at commit, then the console page comes back.
    WebDriverWait(browser, 120).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".versions .badge-ready")))
    browser.find_element(By.ID, "submit-review").click()
    wait_text(browser, "Submitted for review.")
    app = App.objects.get(name="Haiku Critic")
    assert app.status == AppStatus.IN_REVIEW and app.owner.username == "ada"
    browser.get(f"{base}/console/")
    browser.shot("console")
    browser.delete_all_cookies()

    # 2. A moderator approves it in the Django admin's review queue.
    moderator = ModeratorFactory()
    browser.get(f"{base}/admin/login/?next=/admin/marketplace/appreviewqueue/")
    fill(browser, "username", moderator.email)
    fill(browser, "password", DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
    wait_text(browser, "Haiku Critic")
    browser.shot("admin-queue")
    row = browser.find_element(By.XPATH, "//tr[.//a[text()='Haiku Critic']]")
    row.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("approve")
    browser.find_element(By.CSS_SELECTOR, "button[name=index], input[name=index]").click()
    wait_text(browser, "approved and published")
    app.refresh_from_db()
    assert app.status == AppStatus.PUBLISHED
    browser.delete_all_cookies()

    # 3. Another user searches, finds it, gets it and reviews it.
    reader = UserFactory(username="basho")
    log_in(browser, base, reader.email)
    search = browser.find_element(By.CSS_SELECTOR, ".topbar-search input[name=q]")
    search.send_keys("haiku")
    search.submit()
    card = WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, f"a.app-card[data-app='{app.slug}']"))
    )
    browser.get(f"{base}/apps/")
    browser.shot("store")
    browser.back()
    card = browser.find_element(By.CSS_SELECTOR, f"a.app-card[data-app='{app.slug}']")
    card.click()
    browser.find_element(By.ID, "get-app").click()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "in-library")))
    assert LibraryEntry.objects.filter(user=reader, app=app).exists()

    browser.find_element(By.ID, "review-form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(browser, "This field is required.")  # no rating chosen: inline error
    browser.find_element(By.CSS_SELECTOR, "label[for=rating-4]").click()
    fill(browser, "text", "Counted my syllables right and liked my autumn poem.")
    browser.find_element(By.ID, "review-form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(browser, "your review is published")
    review = Review.objects.get(app=app, user=reader)
    assert review.rating == 4
    app.refresh_from_db()
    assert (app.reviews_count, app.rating) == (1, 4)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.shot("app-page")
    browser.execute_script("document.getElementById('reviews').scrollIntoView()")
    browser.shot("app-page-reviews")

    browser.get(f"{base}/")
    browser.shot("home")
    assert App.objects.filter(pricing_model=PricingModel.PER_CALL).count() == 3
