"""Statements of revenue distributions (reportlab PDFs and a CSV): the clinic's period
statement, an investor's per-period statement and their yearly summary (the figures a
1099-DIV-style form needs). Every amount is Decimal or integer base units; the investor
figures come from the chain's indexed events and the deposit (tokens.distributions.income), never from
a recomputation that could drift from what the holder can claim."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chain import gateway
from chain.models import ChainEvent
from compliance.selectors import investor_wallets
from core.i18n import in_language_of
from core.money import format_money, from_token_units
from core.pdf import LANDSCAPE_FRAME_WIDTH, build_pdf, grid_table, kv_table, para
from core.timefmt import local_current
from tokens import ledger
from tokens.distributions.selectors import usage_lines, waterfall_lines
from tokens.models import Distribution, DistributionStatus, Offering

CENT = Decimal("0.01")
PCT_STEP = Decimal("0.0001")
CLAIM_STATUS_LABELS = {"claimed": gettext_lazy("claimed"), "claimable": gettext_lazy("claimable"),
                       "nothing to claim": gettext_lazy("nothing to claim")}
CSV_HEADER = ["row", "token", "token_address", "period_start", "period_end", "wallet", "units", "supply", "amount",
              "currency", "base_units", "stablecoin_decimals", "tax_withheld", "deposit_tx", "deposit_block",
              "report_sha256"]


def verify_url(d: Distribution) -> str:
    """The public proof page printed on statements (absolute: a PDF outlives the session)."""
    return settings.SITE_URL.rstrip("/") + reverse("tokens_public:distribution-verify", args=[d.public_id])


def _period_label(d: Distribution) -> str:
    p = d.period
    label = _("%(start)s to %(end)s (end exclusive)") % {"start": f"{p.period_start:%Y-%m-%d}",
                                                        "end": f"{p.period_end:%Y-%m-%d}"}
    if getattr(p, "kind", "regular") != "regular":
        label += (_(", adjustment of %(month)s") % {"month": f"{p.adjusts.period_start:%Y-%m}"} if p.adjusts_id
                  else _(", adjustment"))
    return label


def _month(day) -> str:
    """'January 2026' / '2026年1月': the month in the active language."""
    return date_format(day, "YEAR_MONTH_FORMAT")


def _bold(label: str) -> str:
    return f"<b>{label}</b>"


def _money(amount, currency: str) -> str:
    return format_money(Decimal(amount), currency)


def _stable(amount: Decimal, currency: str) -> str:
    """A stablecoin amount as money people read, with the exact amount paid on chain beside it
    when it is finer than a cent: "68.21 USD (exactly 68.2111 USD)"."""
    shown = _money(amount, currency)
    exact = Decimal(amount).normalize()
    if exact == exact.quantize(CENT):
        return shown
    return _("%(shown)s (exactly %(exact)s %(currency)s)") % {"shown": shown, "exact": f"{exact:,f}",
                                                             "currency": currency}


def _deposit_rows(d: Distribution) -> list[tuple[str, str]]:
    tx = d.deposit_tx
    return [
        (_("Deposit transaction"), (tx.tx_hash if tx and tx.tx_hash else _("not sent yet"))),
        (_("Block"), str(d.deposit_block) if d.deposit_block else _("not mined yet")),
        (_("Chain id"), str(d.offering.chain_id or settings.CHAIN_ID)),
        (_("Token contract"), d.offering.token_address),
        (_("Stablecoin"), d.stablecoin_address or "—"),
        (_("Report SHA-256"), d.report_sha256 or _("report not frozen yet")),
        (_("Verify"), verify_url(d)),
    ]


def _waterfall_rows(d: Distribution, share: tuple[int, int] | None = None) -> list[list[str]]:
    rows = []
    for line in waterfall_lines(d):
        amount = Decimal(line["amount"])
        row = [line["label"], line["explanation"], _money(amount, d.currency)]
        if share is not None:  # (units, N): a unit's part of each line is 1/N of it
            units, total = share
            row.append(_money((amount * units / total).quantize(CENT, rounding=ROUND_HALF_UP), d.currency)
                       if total and line["line"] not in ("compute_excluded", "retained", "investors") else "—")
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- clinic


def clinic_statement_pdf(distribution: Distribution) -> bytes:
    """The clinic's statement of a closed period: usage and how each line was priced, the
    waterfall, what it owes the platform (holders' share + fee + reserve), status, payment
    and the on-chain deposit with its proof."""

    d = Distribution.objects.select_related("offering", "offering__device", "offering__device__organization",
                                            "period", "deposit_tx").get(pk=distribution.pk)
    o, p, device = d.offering, d.period, d.offering.device
    c = d.currency
    usage = [
        (_("Clinic"), device.organization.name),
        (_("Device"), _("%(manufacturer)s %(model)s (%(modality)s), serial %(serial)s") % {
            "manufacturer": device.manufacturer, "model": device.model_name, "modality": device.modality,
            "serial": device.serial_number}),
        (_("Token"), f"{o.token_name} ({o.token_symbol})"),
        (_("Period"), _period_label(d)),
        (_("Procedures (completed, unflagged)"), str(p.procedures)),
        (_("Procedures without a price"), str(getattr(p, "unpriced_procedures", 0))),
        (_("Procedures excluded (flagged)"), str(getattr(p, "excluded_flagged", 0))),
    ]
    if getattr(p, "compute_jobs", 0):
        usage += [(_("Compute jobs"), str(p.compute_jobs)), (_("Compute GPU-seconds"), str(p.compute_gpu_seconds))]
    revenue = [[line["label"], line["explanation"], _money(line["amount"] or 0, c)] for line in usage_lines(d)]
    due = [
        (_("Gross revenue"), _money(d.gross, c)),
        (_("Kept by the clinic (operating share)"), _money(d.clinic_share, c)),
        (_("Holders' pool (all units)"), _money(d.holders_amount, c)),
        *([(_("Kept by the clinic (units not sold)"), _("%(amount)s (%(unsold)s of %(total)s units)") % {
            "amount": _money(d.retained_amount, c), "unsold": d.units_total - d.units_outstanding,
            "total": d.units_total}),
           (_("Due to holders (units investors hold)"), _("%(amount)s (%(held)s of %(total)s units)") % {
               "amount": _money(d.investors_amount, c), "held": d.units_outstanding, "total": d.units_total})]
          if d.units_total else []),
        (_("Due to the platform (fee and reserve)"), _money(d.platform_amount, c)),
        (_("Amount due from the clinic"), _money(d.amount_due, c)),
        (_("Status"), d.get_status_display()),
        (_("Confirm or dispute by"), local_current(d.confirm_deadline)),
    ]
    if d.dispute_reason:
        due.append((_("Dispute"), d.dispute_reason))
    if d.resolution:
        due.append((_("Resolution"), d.resolution))
    payment = [
        (_("Payment method"), {"card": _("Card (Stripe Checkout)"), "bank": _("Bank transfer")}.get(
            d.payment_method, _("not paid yet"))),
        (_("Payment reference"), d.payment_reference or "—"),
        (_("Amount paid"), _money(d.paid_amount, c) if d.paid_amount is not None else "—"),
        (_("Paid at"), local_current(d.paid_at)),
    ]
    if d.payment_reversed_at:  # the clinic owes the amount again: said on its statement too
        payment.append((_("Payment reversed"), _("The clinic's card payment was refunded or charged back on "
                                                 "%(when)s.") % {"when": local_current(d.payment_reversed_at)}
                        + f" ({d.payment_reversal})"))
    if d.status == DistributionStatus.DISTRIBUTED and d.deposited_base_units:
        payment.append((_("Deposited to holders"), _stable(
            from_token_units(int(d.deposited_base_units), int(d.stablecoin_decimals or 0)), c)))
    story = [
        para(_("Revenue statement of %(symbol)s for %(month)s. Gross revenue is split by the offering's terms fixed "
               "at tokenization; the clinic keeps its operating share and pays the rest.") % {
            "symbol": o.token_symbol, "month": _month(p.period_start)}),
        kv_table(usage),
        para(_bold(_("Revenue lines"))),
        grid_table([_("Kind"), _("How it was computed"), _("Amount")],
                   revenue or [["—", _("No priced usage"), _money(0, c)]]),
        para(_bold(_("Waterfall"))),
        grid_table([_("Line"), _("Rule"), _("Amount")], _waterfall_rows(d)),
        para(_bold(_("Amounts due"))),
        kv_table(due),
        para(_bold(_("Payment and deposit"))),
        kv_table(payment + _deposit_rows(d)),
    ]
    return build_pdf(title=_("Clinic revenue statement"), subject=f"Distribution {d.public_id}", story=story)


# --------------------------------------------------------------------------- investors


@dataclass
class StatementLine:
    distribution: Distribution
    wallet: str  # checksum
    units: int
    supply: int  # units investors held at the deposit block
    base_units: int
    units_total: int  # N: the pool is divided over every unit of the device

    @property
    def decimals(self) -> int:
        return int(self.distribution.stablecoin_decimals or 0)

    @property
    def amount(self) -> Decimal:
        return from_token_units(self.base_units, self.decimals)

    @property
    def share_pct(self) -> Decimal:
        """Share of the device (units / N): what share of each period's pool the units earn."""
        total = self.units_total or self.supply
        return (Decimal(self.units) * 100 / Decimal(total)).quantize(PCT_STEP) if total else Decimal(0)


def _wallets(user) -> dict[str, object]:

    return {w.address.lower(): w for w in investor_wallets(user=user)}


class EntitlementMemo:
    """Each distribution's entitlements (ledger.distribution_entitlements), computed once per
    statement — or once per batch when many statements of the same deposits are rendered
    (pass the same EntitlementMemo): that call reads every Transfer of the token, the rest is cheap."""

    def __init__(self):
        self._memo: dict[int, dict] = {}

    def entitlements(self, d: Distribution) -> dict:
        if d.pk not in self._memo:
            self._memo[d.pk] = ledger.distribution_entitlements(d)
        return self._memo[d.pk]

    def lines(self, d: Distribution, wallets: dict[str, object]) -> list[StatementLine]:

        if d.status != DistributionStatus.DISTRIBUTED or not wallets:
            return []
        ent = self.entitlements(d)
        total = d.units_total or d.offering.units
        return [StatementLine(distribution=d, wallet=gateway.to_checksum(w), units=h["units"], supply=ent["supply"],
                              base_units=h["base_units"], units_total=total)
                for w, h in ((w, ent["holders"].get(w)) for w in sorted(wallets)) if h]


def _offerings_touched(wallets: dict[str, object]) -> list[Offering]:
    """Tokens any of the wallets ever received (purchases, forced transfers, recoveries)."""

    if not wallets:
        return []
    checks = [gateway.to_checksum(w) for w in wallets]
    addresses = {a.lower() for a in ChainEvent.objects.filter(
        contract__chain_id=settings.CHAIN_ID, event="Transfer", args__to__in=checks)
        .values_list("contract__address", flat=True).distinct()}
    return [o for o in Offering.objects.exclude(token_address="").select_related("device")
            if o.token_address.lower() in addresses]


def year_lines(*, user, year: int, wallets: dict | None = None,
               memo: EntitlementMemo | None = None) -> list[StatementLine]:
    """Every distributed period of `year` (by period start) across the user's holdings."""
    wallets = _wallets(user) if wallets is None else wallets
    memo = memo or EntitlementMemo()
    out: list[StatementLine] = []
    for o in _offerings_touched(wallets):
        for d in (Distribution.objects.filter(offering=o, status=DistributionStatus.DISTRIBUTED,
                                              period__period_start__year=year)
                  .select_related("offering", "period", "deposit_tx").order_by("period__period_start", "pk")):
            out.extend(memo.lines(d, wallets))
    out.sort(key=lambda s: (s.distribution.period.period_start, s.distribution.offering.token_symbol, s.wallet))
    return out


def claim_status(line: StatementLine, memo: EntitlementMemo | None = None) -> dict:
    """Claimed or claimable: income is claimed cumulatively on chain (not per period), so the
    periods are paid first in, first out — this period is claimed once the wallet's claims
    (IncomeClaimed events) cover its entitlement to this period and every earlier one."""
    d = line.distribution
    if line.base_units == 0:
        return {"status": "nothing to claim", "tx_hash": "", "block": None}
    memo = memo or EntitlementMemo()
    w = line.wallet.lower()
    owed = sum(memo.entitlements(x)["holders"].get(w, {}).get("base_units", 0)
               for x in Distribution.objects.filter(offering=d.offering, status=DistributionStatus.DISTRIBUTED,
                                                    deposit_block__lte=d.deposit_block).select_related("offering"))
    claimed = 0
    for ev in (ChainEvent.objects.filter(contract__address__iexact=d.offering.token_address, event="IncomeClaimed",
                                         args__holder=line.wallet).order_by("block_number", "log_index")):
        claimed += int(ev.args["amount"])
        if claimed >= owed:
            return {"status": "claimed", "tx_hash": ev.tx_hash, "block": ev.block_number}
    return {"status": "claimable", "tx_hash": "", "block": None}


def investor_statement_pdf(distribution: Distribution, *, user, memo: EntitlementMemo | None = None) -> bytes:
    """The investor's statement of one distributed period: per wallet holding units at the
    deposit block, the units, share of supply, the waterfall (period totals and the pro-rata
    share), the amount in USD and base units, tax withheld, net, claim status, and the
    deposit's proof; with the income of the year to date. 404 when the user held nothing.
    A batch of statements shares one `memo`. Written in the investor's language (a batch runs
    outside any request)."""

    with in_language_of(user):
        return _investor_statement_pdf(distribution, user=user, memo=memo)


def _investor_statement_pdf(distribution: Distribution, *, user, memo: EntitlementMemo | None) -> bytes:

    d = Distribution.objects.select_related("offering", "offering__device", "period", "deposit_tx").get(
        pk=distribution.pk)
    wallets = _wallets(user)
    memo = memo or EntitlementMemo()
    lines = memo.lines(d, wallets)
    if not lines:
        raise Http404("You held no units of this token when this distribution was deposited.")
    o, c = d.offering, d.currency
    story = [
        para(_("Income statement of %(name)s (%(symbol)s) for %(month)s, for %(email)s. Amounts are paid in "
               "stablecoin (%(decimals)s decimals, 1 unit = 1 %(currency)s) to the holding wallet; they are read "
               "from the deposit on chain.") % {
            "name": o.token_name, "symbol": o.token_symbol, "month": _month(d.period.period_start),
            "email": user.email, "decimals": d.stablecoin_decimals, "currency": c}),
        kv_table([(_("Device"), str(o.device)), (_("Period"), _period_label(d)),
                  (_("Distribution"), str(d.public_id)), (_("Status"), d.get_status_display())]),
    ]
    for line in lines:
        st = claim_status(line, memo)
        # The status stays an English key for callers; only the PDF shows it translated.
        status = CLAIM_STATUS_LABELS.get(st["status"], st["status"])
        rows = [
            (_("Wallet"), f"{line.wallet} ({wallets[line.wallet.lower()].get_kind_display()})"),
            (_("Units held at the deposit block"), str(line.units)),
            (_("Units of the device"), _("%(total)s (%(held)s held by investors at the deposit block)") % {
                "total": line.units_total, "held": line.supply}),
            (_("Share of the device (of each period's pool)"), f"{line.share_pct}%"),
            (_("Amount (USD)"), _stable(line.amount, c)),
            (_("Tax withheld"), _("%(amount)s (no withholding configured)") % {"amount": _money(0, c)}),
            (_("Net income"), _stable(line.amount, c)),
            (_("Claim status"), _("%(status)s, claim transaction %(tx)s (block %(block)s)") % {
                "status": status, "tx": st["tx_hash"], "block": st["block"]} if st["tx_hash"] else str(status)),
        ]
        story += [para(_bold(_("Wallet %(wallet)s") % {"wallet": line.wallet})), kv_table(rows),
                  grid_table([_("Line"), _("Rule"), _("Period total"), _("Your share (pro rata)")],
                             _waterfall_rows(d, share=(line.units, line.units_total)))]
    ytd = [s for s in year_lines(user=user, year=d.period.period_start.year, wallets=wallets, memo=memo)
           if s.distribution.period.period_start <= d.period.period_start]
    story += [
        para(_bold(_("Deposit and proof"))),
        kv_table(_deposit_rows(d)),
        para(_bold(_("Income this year to date"))),
        kv_table([(_("%(year)s through %(month)s") % {"year": d.period.period_start.year,
                                                      "month": f"{d.period.period_start:%Y-%m}"},
                   _stable(sum((s.amount for s in ytd), Decimal(0)), c)),
                  (_("Periods counted"), str(len({s.distribution.pk for s in ytd})))]),
        para(_("Each unit earns 1/N of the holders' pool (N = the units of the device, sold or not). Pro-rata shares "
               "of the waterfall lines are informational (rounded to the cent); the amount paid is the holder's "
               "entitlement on chain: units × accumulator increase ÷ MAGNITUDE, in base units.")),
    ]
    return build_pdf(title=_("Investor income statement"), subject=f"Distribution {d.public_id}", story=story)


def _year_totals(lines: list[StatementLine]) -> dict[tuple[str, str, str], tuple[Decimal, int]]:
    """(symbol, token address, currency) -> (amount, base units)."""
    totals: dict[tuple[str, str, str], list] = defaultdict(lambda: [Decimal(0), 0])
    for s in lines:
        t = totals[(s.distribution.offering.token_symbol, s.distribution.offering.token_address,
                    s.distribution.currency)]
        t[0] += s.amount
        t[1] += s.base_units
    return {k: (v[0], v[1]) for k, v in totals.items()}


def yearly_summary_csv(*, user, year: int) -> str:
    """One `period` row per distributed period and wallet, then a `total` row per token."""
    lines = year_lines(user=user, year=year)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for s in lines:
        d = s.distribution
        w.writerow(["period", d.offering.token_symbol, d.offering.token_address, d.period.period_start.isoformat(),
                    d.period.period_end.isoformat(), s.wallet, s.units, s.supply, str(s.amount), d.currency,
                    s.base_units, s.decimals, "0", d.deposit_tx.tx_hash if d.deposit_tx_id else "",
                    d.deposit_block or "", d.report_sha256])
    for (symbol, address, currency), (total, base) in sorted(_year_totals(lines).items()):
        w.writerow(["total", symbol, address, f"{year}-01-01", f"{year + 1}-01-01", "", "", "", str(total), currency,
                    base, "", "0", "", "", ""])
    return buf.getvalue()


def yearly_summary_pdf(*, user, year: int) -> bytes:

    with in_language_of(user):
        return _yearly_summary_pdf(user=user, year=year)


def _yearly_summary_pdf(*, user, year: int) -> bytes:

    lines = year_lines(user=user, year=year)
    # Stablecoin base units stay in the CSV (machine-readable); people read the amount.
    rows = [[s.distribution.offering.token_symbol, f"{s.distribution.period.period_start:%Y-%m}", s.wallet,
             str(s.units), _stable(s.amount, s.distribution.currency),
             s.distribution.deposit_tx.tx_hash if s.distribution.deposit_tx_id else ""] for s in lines]
    totals = _year_totals(lines)
    story = [
        para(_("Revenue distributions paid in %(year)s (by period start) to the wallets of %(email)s: the figures "
               "for a 1099-DIV-style summary. No tax was withheld (withholding is not configured).") % {
            "year": year, "email": user.email}),
        # Landscape at 8 pt: a wallet address and a transaction hash each fit on one line.
        grid_table([_("Token"), _("Period"), _("Wallet"), _("Units"), _("Amount"), _("Deposit transaction")],
                   rows or [["—", "—", _("No distributions this year"), "", "", ""]], width=LANDSCAPE_FRAME_WIDTH,
                   font_size=8),
        para(_bold(_("Totals"))),
        *([grid_table([_("Token"), _("Token contract"), _("Total")],
                      [[symbol, address, _stable(total, currency)]
                       for (symbol, address, currency), (total, _base) in sorted(totals.items())],
                      width=LANDSCAPE_FRAME_WIDTH * 0.75, font_size=8)] if totals else []),
        kv_table([(_("Periods"), str(len({s.distribution.pk for s in lines}))), (_("Tax withheld"), "0")]),
    ]
    return build_pdf(title=_("Yearly income summary %(year)s") % {"year": year}, subject=f"{user.email} {year}",
                     story=story, orientation="landscape")
