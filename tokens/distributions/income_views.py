"""The investor's Income page: holdings per token and wallet with accrued, claimed and
withdrawn income, per-period rows, a chart with a table alternative, yield, statements,
custodial claims and withdrawals. Self-custody claims run in the browser (static/js/wallet.js)
against the API twins in tokens.distributions.api."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.forms import message_application_error
from core.money import from_token_units
from core.permissions import Role, role_required
from tokens import costs, ledger
from tokens.distributions import income, statements
from tokens.distributions import selectors as sel
from tokens.distributions.views import pdf_response
from tokens.models import Distribution, IncomeClaim, Offering


def holding_rows(holdings, performances: list | None = None) -> list[dict]:
    """What the page and the API show per holding: amounts in USD next to base units, what the
    units cost, the income they earned and the realised yield on it (tokens.costs)."""
    perf = {p.key: p for p in (costs.holding_performance(holdings) if performances is None else performances)}
    rows = []
    for h in holdings:
        dec = h.decimals
        p = perf.get((h.offering.pk, h.wallet.lower()))
        rows.append({
            "h": h, "offering": h.offering, "wallet": h.wallet, "wallet_kind": h.wallet_kind,
            "self_custody": h.self_custody, "units": h.units, "decimals": dec,
            "chain_unreachable": h.accrued < 0,
            "accrued_base_units": h.accrued, "accrued": from_token_units(h.accrued, dec) if h.accrued >= 0 else None,
            "claimed_base_units": h.claimed, "claimed": from_token_units(h.claimed, dec),
            "can_claim": h.accrued > 0, **yield_fields(p),
            "periods": [{**p, "tx_hash": p["distribution"].deposit_tx.tx_hash if p["distribution"].deposit_tx_id
                         else ""} for p in h.periods],
        })
    return rows


def yield_fields(perf) -> dict:
    """A holding's cost basis, income and realised yield, for the page and (the plain figures)
    the API alike: a yield that is not "ok" is never given as a number."""
    realised = perf.realised if perf is not None else None
    shown = realised is not None and realised.status == "ok"
    by_currency = perf.cost_basis if perf is not None else {}
    return {"performance": perf, "realised": realised, "cost_basis_by_currency": by_currency,
            "cost_basis": by_currency.get(costs.INCOME_CURRENCY),
            "income": perf.income if perf is not None else Decimal(0),
            "realised_yield_pct": realised.period_pct if shown else None,
            "annualised_yield_pct": realised.annualised_pct if shown else None,
            "yield_months": realised.months if realised is not None else 0,
            "yield_status": realised.status if realised is not None else "no_income"}


def years_of(holdings) -> list[int]:
    years = {p["distribution"].period.period_start.year for h in holdings for p in h.periods}
    return sorted(years or {timezone.now().year}, reverse=True)


def stablecoin_decimals() -> int:
    """The stablecoin's decimals as read from chain when the last deposit was made (6 before any)."""

    return next(iter(Distribution.objects.exclude(stablecoin_decimals=None).order_by("-pk")
                     .values_list("stablecoin_decimals", flat=True)[:1]), 6)


def income_context(user) -> dict:
    holdings = ledger.investor_holdings(user=user, live=True)
    summary = income.income_summary(holdings)  # computes each holding's performance once
    wallets = ledger.investor_wallets(user)
    withdrawn = income.withdrawn_total(user=user)
    decimals = stablecoin_decimals()
    claims = list(IncomeClaim.objects.filter(investor=user).select_related("offering")[:20])
    # A browser-sent claim still pending: read its receipt now rather than show a stale state.
    claims = [income.claim_refresh(claim=c) if c.self_custody and c.status == IncomeClaim.Status.PENDING else c
              for c in claims]
    return {
        "rows": holding_rows(holdings, summary["performances"]), "summary": summary,
        "chart": {"labels": [k for k, _ in summary["chart"]], "values": [str(v) for _, v in summary["chart"]],
                  "currency": "USD"},
        "years": years_of(holdings), "claims": claims,
        "withdrawn_base_units": withdrawn,
        "withdrawn": from_token_units(withdrawn, decimals), "stablecoin_decimals": decimals,
        "self_custody_wallets": [w for w in wallets if w.kind == "self_custody"],
        "has_custodial": any(w.kind == "custodial" for w in wallets),
    }


@role_required(Role.INVESTOR)
def income_page(request):
    ctx = income_context(request.user)
    return render(request, "tokens/income/income.html", ctx)


@role_required(Role.INVESTOR)
@require_POST
def income_claim(request):
    offering = Offering.objects.filter(pk=request.POST.get("offering") or 0).exclude(token_address="").first()
    if offering is None:
        raise Http404("No such token.")
    try:
        income.income_claim(actor=request.user, offering=offering, wallet=request.POST.get("wallet", ""))
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext(
            'Claim of your %(token_symbol)s income sent; it lands in your custodial wallet once confirmed.') %
                {"token_symbol": offering.token_symbol})
    return redirect("tokens:income")


@role_required(Role.INVESTOR)
@require_POST
def income_withdraw(request):
    raw = (request.POST.get("amount") or "").strip().replace(",", "")
    amount = None
    if raw:
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            messages.error(request, gettext(
                "Enter an amount in USD (for example 100 or 12.50), or leave it empty to withdraw everything."))
            return redirect("tokens:income")
    try:
        income.income_withdraw(actor=request.user, to_wallet=request.POST.get("to_wallet", ""), amount=amount)
    except ApplicationError as exc:
        message_application_error(request, exc)
    else:
        messages.success(request, gettext("Withdrawal queued. The platform pays the gas."))
    return redirect("tokens:income")


@role_required(Role.INVESTOR, Role.PLATFORM_ADMIN)
def income_statement_pdf(request, public_id):
    d = sel.distribution_get_for_investor(user=request.user, public_id=public_id)
    body = statements.investor_statement_pdf(d, user=request.user)
    return pdf_response(body, f"income-{d.offering.token_symbol}-{d.period.period_start:%Y-%m}.pdf")


def _year(year: int) -> int:
    if not 2000 <= year <= timezone.now().year + 1:
        raise Http404("No such year.")
    return year


@role_required(Role.INVESTOR)
def income_yearly_pdf(request, year):
    body = statements.yearly_summary_pdf(user=request.user, year=_year(year))
    return pdf_response(body, f"income-{year}.pdf")


@role_required(Role.INVESTOR)
def income_yearly_csv(request, year):
    body = statements.yearly_summary_csv(user=request.user, year=_year(year))
    resp = HttpResponse(body, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="income-{year}.csv"'
    resp["Cache-Control"] = "private, no-store"
    return resp
