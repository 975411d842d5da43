"""The forum: categories (site-wide and one per app), threads, posts, likes, flags, watches and trust."""
from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _


class ForumCategoryQuerySet(models.QuerySet["ForumCategory"]):
    def visible_to(self, user) -> "ForumCategoryQuerySet":
        """App categories follow their app's visibility; a suspended app's forum is closed to the public."""
        from marketplace.models import App

        return self.filter(Q(app__isnull=True) | Q(app__in=App.objects.visible_to(user)))


class ForumCategory(models.Model):
    slug = models.SlugField(unique=True, max_length=100)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=100)
    app = models.OneToOneField(
        "marketplace.App", on_delete=models.CASCADE, null=True, blank=True, related_name="forum_category"
    )
    moderators_only = models.BooleanField(
        _("only moderators start threads"), default=False,
        help_text=_("For announcements: everyone may reply, only moderators open threads."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ForumCategoryQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("forum category")
        verbose_name_plural = _("forum categories")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("community:category", kwargs={"slug": self.slug})


class ThreadKind(models.TextChoices):
    DISCUSSION = "discussion", _("Discussion")
    QUESTION = "question", _("Question")


class ThreadQuerySet(models.QuerySet["Thread"]):
    def visible_to(self, user) -> "ThreadQuerySet":
        """The one place that decides who sees which thread: hidden and deleted ones only to moderators."""
        qs = self.filter(category__in=ForumCategory.objects.visible_to(user))
        if user is not None and user.is_authenticated and user.is_moderator:
            return qs
        return qs.filter(hidden=False, deleted_at__isnull=True)


class Thread(models.Model):
    category = models.ForeignKey(ForumCategory, on_delete=models.CASCADE, related_name="threads")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="forum_threads")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=ThreadKind.choices, default=ThreadKind.DISCUSSION)
    pinned = models.BooleanField(_("pinned"), default=False)
    locked = models.BooleanField(_("locked"), default=False)
    hidden = models.BooleanField(_("hidden"), default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    accepted_post = models.ForeignKey(
        "Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    posts_count = models.PositiveIntegerField(default=0)
    highest_post_number = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_posted_at = models.DateTimeField(null=True, blank=True)

    objects = ThreadQuerySet.as_manager()

    class Meta:
        ordering = ["-pinned", "-last_posted_at"]
        indexes = [models.Index(fields=["category", "-pinned", "-last_posted_at"])]
        verbose_name = _("thread")
        verbose_name_plural = _("threads")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("community:thread", kwargs={"pk": self.pk, "slug": self.slug})

    @property
    def slug(self) -> str:
        return slugify(self.title)[:80] or "thread"

    @property
    def is_solved(self) -> bool:
        return self.kind == ThreadKind.QUESTION and self.accepted_post_id is not None


class PostQuerySet(models.QuerySet["Post"]):
    def visible_to(self, user) -> "PostQuerySet":
        qs = self.filter(thread__in=Thread.objects.visible_to(user))
        if user is not None and user.is_authenticated and user.is_moderator:
            return qs
        return qs.filter(hidden=False, deleted_at__isnull=True)


class Post(models.Model):
    """Number 1 is the opening post: a thread's body is its first post, as in Discourse."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="forum_posts")
    body = models.TextField(_("body"), max_length=20000)
    body_html = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    edit_count = models.PositiveIntegerField(default=0)
    likes_count = models.PositiveIntegerField(default=0)
    flag_score = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(_("hidden"), default=False)
    hidden_reason = models.CharField(max_length=200, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["thread", "number"]
        constraints = [models.UniqueConstraint(fields=["thread", "number"], name="post_number_unique")]
        indexes = [models.Index(fields=["author", "created_at"])]
        verbose_name = _("post")
        verbose_name_plural = _("posts")

    def __str__(self) -> str:
        return f"#{self.number} {self.thread.title[:60]}" if self.thread_id else f"post {self.pk}"

    def get_absolute_url(self) -> str:
        return f"{self.thread.get_absolute_url()}?post={self.number}#post-{self.number}"


class ReviewQueueItem(Post):
    """Proxy for the admin's review queue: posts with pending flags."""

    class Meta:
        proxy = True
        verbose_name = _("post to review")
        verbose_name_plural = _("posts to review")


class PostRevision(models.Model):
    """The text a post had before each edit; the edit history is never thrown away."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "number"]
        constraints = [models.UniqueConstraint(fields=["post", "number"], name="revision_number_unique")]
        verbose_name = _("post revision")
        verbose_name_plural = _("post revisions")

    def __str__(self) -> str:
        return f"{self.post} r{self.number}"


class PostLike(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="like_once")]
        verbose_name = _("like")
        verbose_name_plural = _("likes")

    def __str__(self) -> str:
        return f"{self.user} ♥ {self.post_id}"


class FlagReason(models.TextChoices):
    SPAM = "spam", _("Spam")
    ABUSIVE = "abusive", _("Abusive")
    OFF_TOPIC = "off_topic", _("Off-topic")


class FlagStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    AGREED = "agreed", _("Agreed")
    DISAGREED = "disagreed", _("Disagreed")


class Flag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_flags")
    reason = models.CharField(_("reason"), max_length=20, choices=FlagReason.choices)
    score = models.PositiveSmallIntegerField(help_text=_("Weight of this flag, from the flagger's trust level."))
    status = models.CharField(max_length=20, choices=FlagStatus.choices, default=FlagStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="flag_once_per_user")]
        indexes = [models.Index(fields=["status", "post"])]
        verbose_name = _("flag")
        verbose_name_plural = _("flags")

    def __str__(self) -> str:
        return f"{self.reason} by {self.user} on {self.post_id}"


class WatchLevel(models.TextChoices):
    WATCHING = "watching", _("Watching")
    NORMAL = "normal", _("Normal")
    MUTED = "muted", _("Muted")


class ThreadWatch(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="watches")
    level = models.CharField(max_length=10, choices=WatchLevel.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="thread_watch_once")]
        verbose_name = _("thread subscription")
        verbose_name_plural = _("thread subscriptions")

    def __str__(self) -> str:
        return f"{self.user} {self.level} thread {self.thread_id}"


class CategoryWatch(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(ForumCategory, on_delete=models.CASCADE, related_name="watches")
    level = models.CharField(max_length=10, choices=WatchLevel.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "category"], name="category_watch_once")]
        verbose_name = _("category subscription")
        verbose_name_plural = _("category subscriptions")

    def __str__(self) -> str:
        return f"{self.user} {self.level} category {self.category_id}"


class ThreadRead(models.Model):
    """How far a user has read a thread: drives unread markers."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    last_read_post_number = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="thread_read_once")]
        verbose_name = _("read marker")
        verbose_name_plural = _("read markers")

    def __str__(self) -> str:
        return f"{self.user} read {self.thread_id} to {self.last_read_post_number}"


class TrustLevel(models.IntegerChoices):
    NEW = 0, _("New")
    BASIC = 1, _("Basic")
    MEMBER = 2, _("Member")


class ForumProfile(models.Model):
    """Activity counters that promote users through trust levels, and forum suspensions."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_profile")
    trust_level = models.PositiveSmallIntegerField(choices=TrustLevel.choices, default=TrustLevel.NEW)
    days_visited = models.PositiveIntegerField(default=0)
    last_visit_date = models.DateField(null=True, blank=True)
    posts_read = models.PositiveIntegerField(default=0)
    likes_received = models.PositiveIntegerField(default=0)
    suspended_until = models.DateTimeField(null=True, blank=True)
    suspended_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("forum profile")
        verbose_name_plural = _("forum profiles")

    def __str__(self) -> str:
        return str(self.user)
