"""Demo data for `manage.py seed_demo`: idempotent, called in order by the command.

Realistic threads for each demo app, written through the services (so notifications, counters and
search vectors are real). A thread is recognised by its category and title, so a second run adds nothing.
"""
from django.utils.translation import gettext_noop

from accounts.models import User
from marketplace.models import App, AppStatus

from . import services
from .models import ForumCategory, ForumProfile, Thread, TrustLevel

DEV, USER, MOD = "dev@modelmarket.local", "user@modelmarket.local", "mod@modelmarket.local"

# (category slug or app slug, kind, author, title, body, [(author, body)], accepted reply index or None, pinned)
THREADS = [
    ("announcements", "discussion", MOD, gettext_noop("Welcome to the ModelMarket forum"),
     "Hi everyone! This is the place to ask questions about apps, share what you built and talk to the "
     "developers behind them.\n\n- Every published app has **its own category**, linked from its page.\n"
     "- Ask a *question* and accept the answer that solved it.\n- Flag anything that looks like spam.\n\n"
     "Be kind, and have fun.", [], None, True),
    ("general", "discussion", USER, gettext_noop("What are you building with ModelMarket apps?"),
     "I'm wiring a support bot together from a few apps here. Curious what others are doing!",
     [(DEV, "A game studio asked me for NPC chatter, so I published **NPC Dialogue**. Feedback welcome.")],
     None, False),
    ("faq-search", "question", USER, gettext_noop("How do I match a question against my FAQ with the embeddings?"),
     "I get a 384-number vector per text from `faq-search`. How do I find the closest FAQ entry?",
     [(DEV, "Embed every FAQ question once and store the vectors. For each incoming question, embed it and "
            "take the **cosine similarity** with each stored vector; the highest wins.\n\n```python\n"
            "import numpy as np\nbest = int(np.argmax(faq_vectors @ query_vector))\n```\n\nThe vectors are "
            "already normalised, so a dot product is the cosine."),
      (USER, "Worked first time, thanks! Matching 200 FAQs takes no time at all.")], 0, False),
    ("faq-search", "discussion", USER, gettext_noop("Does it work for FAQs in other languages?"),
     "Our help centre is in English and German. Any experience with German questions?",
     [(DEV, "The model is trained mostly on English. German works for short, simple questions; for "
            "production I'd test on a sample of your real tickets first.")], None, False),
    ("finance-sentiment", "question", USER,
     gettext_noop("Why is “beats expectations, cuts guidance” rated positive?"),
     "Headline: *ACME beats Q3 expectations but cuts full-year guidance*. The app says **positive** "
     "with 0.71. I'd call it negative.",
     [(DEV, "Mixed headlines are the hardest case: the model weighs the first clause strongly. Send the "
            "two clauses separately (`texts: [...]`) and combine the scores; that gives a much better signal."),
      (USER, "Splitting clauses fixed most of my examples. Accepting this.")], 0, False),
    ("finance-sentiment", "question", USER, gettext_noop("Why did the price per call go up this afternoon?"),
     "I paid a bit more per call around 3 pm than in the morning. Is that expected?",
     [(MOD, "Yes: this app uses demand pricing. The price is `base + k × recent calls`, capped at a maximum, "
            "and you always see the quote before the run. Quiet hours are cheaper.")], None, False),
    ("npc-dialogue", "discussion", DEV, gettext_noop("Share your best NPC prompts"),
     "Post the prompts that gave your characters personality. Mine: `The blacksmith, tired but proud, says:`",
     [(USER, "`The innkeeper leans over the counter and whispers:` gives great rumours."),
      (MOD, "Lovely thread. Pinning ideas for the next community showcase!")], None, False),
    ("npc-dialogue", "question", USER, gettext_noop("How do I keep the replies short?"),
     "Sometimes my guard NPC rambles for a paragraph. Can I cap the length?",
     [(DEV, "Pass `max_new_tokens` with the input, e.g. `{\"text\": \"...\", \"max_new_tokens\": 24}`. "
            "Around 20–30 tokens is one or two sentences.")], 0, False),
    ("shape-classifier", "question", USER, gettext_noop("What image size should I upload?"),
     "Do I need to resize my drawings before sending them?",
     [(DEV, "No, any PNG or JPEG works: the app converts to grayscale and resizes to 32×32 itself. Clear "
            "shapes on a plain background give the best results.")], 0, False),
    ("shape-classifier", "discussion", USER, gettext_noop("Used it in my geometry class"),
     "My students drew shapes on tablets and the classifier guessed them live. Big hit with 10-year-olds!",
     [(DEV, "That's wonderful to hear, thanks for sharing!")], None, False),
]


def _users() -> dict[str, User] | None:
    users = {u.email: u for u in User.objects.filter(email__in=[DEV, USER, MOD])}
    return users if len(users) == 3 else None


def _category(ref: str) -> ForumCategory | None:
    category = ForumCategory.objects.filter(slug=ref).first()
    if category:
        return category
    app = App.objects.filter(slug=ref, status=AppStatus.PUBLISHED).first()
    return services.category_for_app_ensure(app=app) if app else None


def seed_demo(*, stdout) -> None:
    """Site categories, a category per published app, and a few threads per demo app."""
    services.site_categories_ensure()
    for app in App.objects.filter(status=AppStatus.PUBLISHED):
        services.category_for_app_ensure(app=app)
    users = _users()
    if users is None:
        stdout.write("community: demo users missing, skipping threads")
        return
    # Demo people have been around for a while: members, not brand-new accounts.
    for user in users.values():
        ForumProfile.objects.update_or_create(user=user, defaults={
            "trust_level": TrustLevel.MEMBER, "days_visited": 30, "posts_read": 400, "likes_received": 12})
    created = 0
    for ref, kind, author, title, body, replies, accepted, pinned in THREADS:
        category = _category(ref)
        if category is None or Thread.objects.filter(category=category, title=title).exists():
            continue
        thread = services.thread_create(author=users[author], category=category, title=title, body=body, kind=kind)
        posts = [services.post_create(author=users[who], thread=thread, body=text) for who, text in replies]
        if accepted is not None:
            services.post_accept(post=posts[accepted], actor=users[author])
        if pinned:
            services.thread_set_pinned(thread=thread, actor=users[MOD], pinned=True)
        if posts and posts[0].author != users[author]:
            services.post_like(post=posts[0], user=users[author])
        created += 1
    stdout.write(f"community: {created} demo threads added")
