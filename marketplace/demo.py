"""Demo store for `manage.py seed_demo`: published apps across the categories, one draft, a few reviews.

Idempotent: existing apps are left as they are (a moderator may have changed them); only what is
missing is added. Apps get version 1.0.0 as metadata only: the inference demo attaches real models.
"""
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.demo import demo_user

from .models import App, AppStatus, AppVersion, Category, Framework, Hardware, Review, Task
from .services import _after_publish, app_acquire, app_create, app_version_create, review_create

FREE = {"model": "free"}


def _example(slug: str, payload: str) -> str:
    return (
        "## Try it from the API\n\n"
        "```bash\n"
        f"curl -X POST $MODELMARKET/api/v1/apps/{slug}/predictions/ \\\n"
        '  -H "Authorization: Bearer $MM_KEY" -H "Prefer: wait=30" \\\n'
        f"  -d '{payload}'\n"
        "```\n"
    )


DEMO_APPS = [
    {
        "slug": "faq-search", "name": "FAQ Search", "category": "customer-service", "featured": True,
        "tagline": "Answer customer questions from your own FAQ with semantic search.",
        "tags": ["semantic search", "embeddings", "support"], "pricing": FREE,
        "version": {"task": Task.FEATURE_EXTRACTION, "framework": Framework.TRANSFORMERS},
        "description": (
            "FAQ Search turns questions into **384-dimensional sentence embeddings** with the compact "
            "all-MiniLM-L6-v2 encoder, so *\"how do I get my money back?\"* finds the entry titled "
            "*\"Refund policy\"* even though they share no words.\n\n"
            "## What you get\n\n"
            "- One normalised vector per input text, ready for cosine similarity.\n"
            "- Batches of up to 32 texts per call.\n"
            "- Fast CPU inference: typically a few milliseconds per sentence.\n\n"
            "## Good for\n\n"
            "1. Help-centre search boxes.\n2. Routing tickets to the right team.\n"
            "3. Finding duplicate questions in a community forum.\n\n"
            + _example("faq-search", '{"input": {"texts": ["How do I reset my password?"]}}')
        ),
    },
    {
        "slug": "finance-sentiment", "name": "Finance Sentiment", "category": "finance", "featured": True,
        "tagline": "Is this headline good or bad news for the stock? Sentiment tuned for finance.",
        "tags": ["sentiment", "news", "keras"],
        "pricing": {"model": "per_call", "base_price": Decimal("0.002000"), "k": Decimal("0.000100"),
                    "window_seconds": 3600, "max_price": Decimal("0.010000"), "free_calls_per_month": 20},
        "version": {"task": Task.TEXT_CLASSIFICATION, "framework": Framework.KERAS},
        "description": (
            "Classifies financial headlines, earnings-call snippets and analyst notes as **positive**, "
            "**negative** or **neutral**, with a probability for each label.\n\n"
            "## Pricing\n\n"
            "The first 20 calls every month are free. After that a call costs from $0.002, rising by "
            "$0.0001 for each call made in the last hour, never above $0.01. You always see the price "
            "before a run.\n\n"
            "| Input | Label |\n|---|---|\n"
            "| *Revenue beat expectations by 12%* | positive |\n"
            "| *Company issues profit warning* | negative |\n\n"
            + _example("finance-sentiment", '{"input": {"text": "Shares jump after record quarter"}}')
        ),
    },
    {
        "slug": "npc-dialogue", "name": "NPC Dialogue", "category": "games", "featured": True,
        "tagline": "Give your non-player characters something new to say, streamed token by token.",
        "tags": ["text generation", "game dev", "streaming"], "pricing": FREE,
        "version": {"task": Task.TEXT_GENERATION, "framework": Framework.TRANSFORMERS},
        "description": (
            "A small generative language model for **barks, quest hints and shopkeeper chatter**. Send the "
            "start of a line and get a continuation, streamed as Server-Sent Events so your UI can type it "
            "out as it arrives.\n\n"
            "## Tips\n\n"
            "- Keep prompts short and in character: `Blacksmith: Ah, a traveller! `\n"
            "- Use `max_new_tokens` (up to 64) to bound the length and the latency.\n\n"
            + _example("npc-dialogue", '{"input": {"text": "Innkeeper: Welcome, friend!", "max_new_tokens": 24}}')
        ),
    },
    {
        "slug": "shape-classifier", "name": "Shape Classifier", "category": "education",
        "tagline": "Recognises circles, squares and triangles in drawings: a friendly first vision model.",
        "tags": ["image classification", "keras", "teaching"], "pricing": FREE,
        "version": {"task": Task.IMAGE_CLASSIFICATION, "framework": Framework.KERAS},
        "description": (
            "A tiny convolutional network that tells **circles, squares and triangles** apart. It is built "
            "for classrooms: small enough to understand, fast enough to play with.\n\n"
            "## Input\n\nA PNG or JPEG, base64-encoded; it is resized to 32×32 grey levels.\n\n"
            "## Output\n\nThe three labels with their probabilities, most likely first.\n\n"
            + _example("shape-classifier", '{"input": {"image": "<base64 PNG>"}}')
        ),
    },
    {
        "slug": "symptom-triage", "name": "Symptom Triage Notes (demo)", "category": "healthcare",
        "tagline": "Demo: sorts free-text patient messages into routine, soon and urgent. Not medical advice.",
        "tags": ["demo", "triage", "clinical text", "classification"], "featured": False,
        "pricing": {"model": "per_call", "base_price": Decimal("0.004000"), "k": Decimal("0"),
                    "window_seconds": 3600, "max_price": Decimal("0.004000"), "free_calls_per_month": 50},
        "version": {"task": Task.TEXT_CLASSIFICATION, "framework": Framework.KERAS},
        "description": (
            "Reads messages such as *\"my chest has felt tight since this morning\"* and suggests a triage "
            "level so urgent cases reach a clinician first.\n\n"
            "> **Not medical advice, and not a medical device.** It assists staff who make the decision; it never "
            "replaces them. In an emergency, call your local emergency number. Every answer carries this notice "
            "in its `notice` field.\n\n"
            "A small demonstration model: a word and word-pair classifier trained on generated patient messages. "
            "It is right on 28 of 30 hand-written messages, and it will be wrong on real ones.\n\n"
            "## Labels\n\n- `routine`\n- `soon` (within 24 hours)\n- `urgent` (now)\n\n"
            "Inputs and outputs are private to the caller and are never used for training.\n"
        ),
    },
    {
        "slug": "similar-items", "name": "Similar Items", "category": "recommendation",
        "tagline": "“Customers also viewed”: find related products from their titles and descriptions.",
        "tags": ["recommendations", "embeddings", "e-commerce"], "pricing": FREE,
        "version": {"task": Task.FEATURE_EXTRACTION, "framework": Framework.TRANSFORMERS},
        "description": (
            "Embeds product titles and descriptions so you can rank your catalogue by similarity to what "
            "a shopper is looking at. No purchase history needed: it works on day one.\n\n"
            "## How to use it\n\n"
            "1. Embed your catalogue once (batches of up to 32 texts).\n"
            "2. Store the vectors next to your products.\n"
            "3. At page view, take the nearest neighbours by cosine similarity.\n"
        ),
    },
    {
        "slug": "language-identifier", "name": "Language Identifier", "category": "other",
        "tagline": "Which language is this? Tells ten languages apart from a few words.",
        "tags": ["language detection", "nlp", "utility"], "pricing": FREE,
        "version": {"task": Task.TEXT_CLASSIFICATION, "framework": Framework.KERAS},
        "description": (
            "Detects the language of short texts such as search queries, chat messages and reviews, so "
            "you can route them to the right translator, model or support team.\n\n"
            "Returns an [ISO 639-1](https://en.wikipedia.org/wiki/ISO_639-1) code and a confidence score for "
            "English (`en`), German (`de`), French (`fr`), Spanish (`es`), Italian (`it`), Portuguese (`pt`), "
            "Dutch (`nl`), Swedish (`sv`), Polish (`pl`) and Turkish (`tr`).\n\n"
            "It looks at character sequences of one to three letters, the classic approach for short texts.\n"
        ),
    },
    {
        "slug": "answer-grader", "name": "Short-Answer Grader (demo)", "category": "education",
        "tagline": "Demo: grades a student's short answer against the model answer by meaning, not exact words.",
        "tags": ["demo", "grading", "embeddings", "teaching"], "pricing": FREE,
        "version": {"task": Task.ANSWER_GRADING, "framework": Framework.TRANSFORMERS},
        "description": (
            "> **A demonstration model.** The grade comes from how close the answer's meaning is to the reference "
            "answer, not from a teacher. Check any grade that matters.\n\n"
            "Send the student's answer and the reference answer; get a **score** from 0 to 1 (the cosine similarity "
            "of their all-MiniLM-L6-v2 sentence embeddings) and a **grade**: `correct`, `partial` or `incorrect`.\n\n"
            "## How it was calibrated\n\n"
            "Two thresholds on the score were chosen on 72 answers to 12 school questions that we graded by hand "
            "(shipped with the platform). The model card shows how often it agrees with those grades, and the "
            "honest figure: agreement when each question is graded with thresholds calibrated on the others.\n\n"
            "## Known weak spots\n\n"
            "- An answer that reuses the reference's words but says something wrong can still score high.\n"
            "- Very short correct answers (*\"Gravity.\"*) can score low.\n\n"
            + _example("answer-grader", '{"input": {"answer": "It pumps blood round the body", '
                                        '"reference": "The heart pumps blood around the body."}}')
        ),
    },
]

DEMO_DRAFT = {
    "slug": "essay-feedback", "name": "Essay Feedback", "category": "education",
    "tagline": "Comments on structure and clarity for student essays. Work in progress.",
    "tags": ["writing", "feedback"], "pricing": FREE,
    "version": {"task": Task.TEXT_GENERATION, "framework": Framework.TRANSFORMERS},
    "description": "Draft: gives students feedback on the structure of their essays.\n",
}

# (app slug, reviewer role, stars, text)
DEMO_REVIEWS = [
    ("faq-search", "user", 5, "Dropped it into our help centre in an afternoon. Finds the right answer "
                              "even when customers phrase things oddly."),
    ("finance-sentiment", "user", 4, "Good on headlines, a bit unsure on long analyst notes. "
                                     "Pricing is clear and the free calls are handy for testing."),
    ("shape-classifier", "user", 5, "My students loved drawing shapes and watching the probabilities move."),
    ("faq-search", "moderator", 4, "Solid and fast. Would love multilingual support."),
    ("finance-sentiment", "moderator", 5, "Gets plain headlines right, profit warnings included."),
    ("shape-classifier", "moderator", 4, "Works with shapes drawn by hand on a phone, too."),
]


def _ensure_app(spec: dict, owner, *, publish: bool) -> App:
    app = App.objects.filter(slug=spec["slug"]).first()
    if app is None:
        app = app_create(
            owner=owner, slug=spec["slug"], name=spec["name"], tagline=spec["tagline"],
            description=spec["description"], category=Category.objects.get(slug=spec["category"]),
            pricing=spec["pricing"], tags=spec["tags"],
        )
        if spec.get("featured"):
            App.objects.filter(pk=app.pk).update(featured=True)
        if publish:
            # Demo apps skip the review queue: they are the platform's own listings.
            App.objects.filter(pk=app.pk).update(status=AppStatus.PUBLISHED, published_at=timezone.now())
            app.refresh_from_db()
            _after_publish(app)
    if not AppVersion.objects.filter(app=app, version="1.0.0").exists():
        app_version_create(
            app=app, actor=app.owner, version="1.0.0", changelog="First release.",
            hardware=Hardware.CPU, held_for_review=False, **spec["version"],  # the platform's own listing
        )
    return app


@transaction.atomic
def seed_demo(*, stdout) -> None:
    developer = demo_user("developer")
    apps = {spec["slug"]: _ensure_app(spec, developer, publish=True) for spec in DEMO_APPS}
    _ensure_app(DEMO_DRAFT, developer, publish=False)
    for slug, role, stars, text in DEMO_REVIEWS:
        reviewer, app = demo_user(role), apps[slug]
        if app.status != AppStatus.PUBLISHED or Review.objects.filter(app=app, user=reviewer).exists():
            continue
        app_acquire(user=reviewer, app=app)
        review_create(user=reviewer, app=app, rating=stars, text=text)
    stdout.write(f"Demo store: {App.objects.published().count()} published apps, e.g. /apps/finance-sentiment/")
