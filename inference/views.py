"""Pages of inference: the caller's predictions, one prediction with its webhook delivery log, redelivery."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.web_errors import errors_as_messages

from . import selectors, services
from .erasure import prediction_answer_once


@login_required
def prediction_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.prediction_list_for(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "inference/prediction_list.html", {"page": page})


@login_required
def prediction_detail(request: HttpRequest, prediction_id) -> HttpResponse:
    prediction = prediction_answer_once(prediction=selectors.prediction_get_for(user=request.user,
                                                                                prediction_id=prediction_id))
    return render(request, "inference/prediction_detail.html", {
        "prediction": prediction,
        "payload": selectors.prediction_payload(prediction=prediction),
        "deliveries": selectors.deliveries_for(user=request.user, prediction=prediction),
        "secret": services.webhook_secret_for(user=request.user).secret,
    })


@require_POST
@login_required
def delivery_redeliver(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = selectors.deliveries_for(user=request.user).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404
    with errors_as_messages(request) as outcome:
        services.webhook_redeliver(delivery=delivery, actor=request.user)
    if not outcome["failed"]:
        messages.success(request, _("The webhook is being sent again."))
    return redirect("inference:prediction_detail", prediction_id=delivery.prediction_id)


@require_POST
@login_required
def prediction_cancel(request: HttpRequest, prediction_id) -> HttpResponse:
    prediction = selectors.prediction_get_for(user=request.user, prediction_id=prediction_id)
    with errors_as_messages(request) as outcome:
        services.prediction_cancel(prediction=prediction, actor=request.user)
    if not outcome["failed"]:
        messages.success(request, _("The prediction was canceled."))
    return redirect("inference:prediction_detail", prediction_id=prediction.pk)
