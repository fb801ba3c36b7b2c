"""Payment reads: a checkout for its customer (simulator page), a payment by its session."""

from django.http import Http404

from payments.models import Payment


def payment_for_customer(*, user, session_id: str) -> Payment:
    """The simulator page shows a checkout only to the customer who opened it."""
    payment = Payment.objects.filter(session_id=session_id, simulated=True).first()
    if payment is None or payment.customer_id != getattr(user, "pk", None):
        raise Http404("No such checkout.")
    return payment


def payment_for_session(*, session_id: str) -> Payment | None:
    """The payment opened for a checkout session (callers map events to their objects)."""
    return Payment.objects.filter(session_id=session_id).first() if session_id else None
