"""Console pages for training: datasets, the new-job form, and the live job page. Thin: parse, call a service."""
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.web_errors import WebError, errors_as_messages, form_add_error

from . import selectors, services
from .forms import DatasetSplitForm, DatasetUploadForm, JobForm, PublishForm
from .models import Dataset, JobStatus, TrainingJob
from .spec import HYPERPARAMETERS


def developer_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_developer:
            raise PermissionDenied(_("Become a developer first: accept the developer terms."))
        return view(request, *args, **kwargs)

    return wrapped


def _dataset_or_404(request, pk) -> Dataset:
    try:
        return selectors.dataset_get(user=request.user, pk=pk)
    except Dataset.DoesNotExist:
        raise Http404 from None


def _job_or_404(request, pk) -> TrainingJob:
    try:
        return selectors.job_get(user=request.user, pk=pk)
    except TrainingJob.DoesNotExist:
        raise Http404 from None


@developer_required
def home(request):
    form = DatasetUploadForm()
    if request.method == "POST":
        form = DatasetUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                dataset = services.dataset_create(owner=request.user, **form.cleaned_data)
            except DomainError as exc:
                form_add_error(form, exc)
            else:
                if dataset.status == "ready":
                    messages.success(request, _("Dataset “%(name)s” is ready: %(rows)d rows.")
                                     % {"name": dataset.name, "rows": dataset.rows})
                else:
                    messages.error(request, _("Dataset “%(name)s” cannot be used: %(error)s")
                                   % {"name": dataset.name, "error": dataset.error})
                return redirect("training:dataset_detail", pk=dataset.pk)
    return render(request, "training/home.html", {
        "form": form,
        "datasets": selectors.datasets_for(user=request.user)[:50],
        "jobs": selectors.jobs_for(user=request.user)[:50],
        "has_bases": selectors.base_versions_for(user=request.user).exists(),
    })


@developer_required
def dataset_detail(request, pk):
    dataset = _dataset_or_404(request, pk)
    form = DatasetSplitForm(initial={"validation_fraction": dataset.validation_fraction, "seed": dataset.seed})
    if request.method == "POST":
        form = DatasetSplitForm(request.POST)
        if form.is_valid():
            try:
                services.dataset_set_split(dataset=dataset, **form.cleaned_data)
            except DomainError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, _("Split updated."))
                return redirect("training:dataset_detail", pk=dataset.pk)
    sample, split = [], None
    if dataset.status == "ready":
        train, validation = selectors.dataset_split(dataset=dataset)
        sample = train[:8]
        split = {"train": len(train), "validation": len(validation)}
    largest = max(dataset.labels.values(), default=1)
    labels = [{"name": name, "count": count, "share": round(100 * count / largest)}
              for name, count in dataset.labels.items()]
    return render(request, "training/dataset_detail.html",
                  {"dataset": dataset, "form": form, "sample": sample, "split": split, "labels": labels})


@developer_required
def job_new(request):
    initial = {}
    if request.GET.get("dataset"):
        initial["dataset"] = request.GET["dataset"]
    if request.GET.get("base"):
        initial["base_version"] = request.GET["base"]
    form = JobForm(initial=initial, user=request.user)
    if request.method == "POST":
        form = JobForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                job = services.training_job_create(owner=request.user, base_version=form.cleaned_data["base_version"],
                                                   dataset=form.cleaned_data["dataset"],
                                                   hyperparameters=form.hyperparameters())
            except DomainError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, _("Training job started."))
                return redirect("training:job_detail", pk=job.pk)
    estimate = None
    bases = form.fields["base_version"].queryset
    datasets = form.fields["dataset"].queryset
    if bases.exists() and datasets.exists():
        base = bases.first()
        params = {name: spec[3 if base.framework == "transformers" else 4] for name, spec in HYPERPARAMETERS.items()}
        estimate = selectors.training_estimate(base_version=base, dataset=datasets.first(), hyperparameters=params)
    return render(request, "training/job_new.html", {
        "form": form, "estimate": estimate,
        "hp_fields": [form[name] for name in HYPERPARAMETERS],
        "estimate_url": reverse("training-api:job-estimate"),
        "frameworks": {str(v.pk): {"framework": v.framework, "app": v.app.slug, "version": v.version}
                       for v in bases},
    })


@developer_required
def job_detail(request, pk):
    job = _job_or_404(request, pk)
    return _job_page(request, job, PublishForm(initial={"version": _next_version(job)}))


def _job_page(request, job: TrainingJob, publish_form: PublishForm, status: int = 200):
    return render(request, "training/job_detail.html", {
        "job": job, "publish_form": publish_form,
        "api_url": reverse("training-api:job-detail", kwargs={"pk": job.pk}),
        "active": job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        "queue": selectors.job_queue_info(job=job),
        "statuses": {value: str(label) for value, label in JobStatus.choices},
    }, status=status)


def _next_version(job: TrainingJob) -> str:
    """Suggest the next minor version after the app's newest, e.g. 1.0.0 → 1.1.0."""
    newest = job.base_version.app.versions.order_by("-created_at").values_list("version", flat=True).first() or "1.0.0"
    try:
        major, minor, _patch = (int(part) for part in newest.split("-")[0].split("+")[0].split("."))
    except ValueError:
        return ""
    return f"{major}.{minor + 1}.0"


@require_POST
@developer_required
def job_cancel(request, pk):
    job = _job_or_404(request, pk)
    with errors_as_messages(request) as outcome:
        services.training_job_cancel(job=job, actor=request.user)
    if not outcome["failed"]:
        messages.info(request, _("Cancel requested: the worker stops within seconds."))
    return redirect("training:job_detail", pk=job.pk)


@require_POST
@developer_required
def job_publish(request, pk):
    job = _job_or_404(request, pk)
    form = PublishForm(request.POST)
    if form.is_valid():
        try:
            version = services.training_job_publish(job=job, actor=request.user, **form.cleaned_data)
        except WebError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, _("Published as version %(v)s: it is being validated like an upload, then "
                                        "goes through review as usual.") % {"v": version.version})
            return HttpResponseRedirect(reverse("training:job_detail", kwargs={"pk": job.pk}))
    return _job_page(request, job, form, status=400)
