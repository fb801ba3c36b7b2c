"""Payment pages: the Stripe webhook endpoint and the local simulator's checkout page."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from payments import selectors, services, stripe_api

logger = logging.getLogger(__name__)


@csrf_exempt  # authenticated by the Stripe signature over the raw body
@require_POST
def stripe_webhook(request):
    try:
        row, new = services.webhook_receive(payload=request.body,
                                            signature=request.headers.get("Stripe-Signature", ""))
    except services.WebhookRejected as exc:
        logger.warning("Rejected webhook: %s", exc.message)
        return HttpResponseBadRequest(exc.message)
    except services.PaymentNotKnownYet as exc:
        # Out of order (e.g. a dispute before its checkout event): the provider redelivers.
        logger.warning("Webhook deferred: %s", exc)
        return HttpResponse("Payment not known yet; retry later.", status=503)
    return JsonResponse({"received": True, "event": row.event_id, "duplicate": not new})


@login_required
def simulator(request, session_id):
    if not stripe_api.simulator_enabled():
        return HttpResponse("The payment simulator is off.", status=404)
    payment = selectors.payment_for_customer(user=request.user, session_id=session_id)
    return render(request, "payments/simulator.html", {"payment": payment})


@login_required
@require_POST
def simulator_action(request, session_id):
    payment = selectors.payment_for_customer(user=request.user, session_id=session_id)
    try:
        if request.POST.get("action") == "pay":
            services.simulator_pay(actor=request.user, payment=payment)
            return redirect(payment.success_url)
        services.simulator_cancel(actor=request.user, payment=payment)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payments:simulator", session_id=session_id)
    return redirect(payment.cancel_url)
