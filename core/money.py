"""Money is Decimal with its currency; token amounts are integers in base units.
Minor units exist only at the payment-provider boundary."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import formats, numberformat

# ISO 4217 minor-unit exponents for the currencies we accept.
CURRENCY_EXPONENTS = {"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "SGD": 2, "AED": 2, "JPY": 0}
CURRENCIES = [(c, c) for c in CURRENCY_EXPONENTS]
# Income and market payments are in a USD stablecoin; 6 decimals (MockStablecoin, USDC) unless the
# record says otherwise (Distribution.stablecoin_decimals, MarketOffer.stablecoin_decimals).
STABLECOIN_CURRENCY = "USD"
STABLECOIN_DECIMALS = 6


def to_decimal(value) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Money must not be a float; pass a str or Decimal.")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def quantize(amount, currency: str) -> Decimal:
    exp = CURRENCY_EXPONENTS[currency]
    return to_decimal(amount).quantize(Decimal(1).scaleb(-exp), rounding=ROUND_HALF_UP)


def to_minor_units(amount, currency: str) -> int:
    q = quantize(amount, currency)
    return int(q.scaleb(CURRENCY_EXPONENTS[currency]))


def from_minor_units(minor: int, currency: str) -> Decimal:
    if not isinstance(minor, int):
        raise TypeError("Minor units are integers.")
    return Decimal(minor).scaleb(-CURRENCY_EXPONENTS[currency])


def to_token_units(amount, decimals: int) -> int:
    """A decimal amount of an ERC-20 (e.g. a 6-decimal stablecoin) as integer base units.
    Refuses amounts finer than the token can represent instead of rounding silently."""
    scaled = to_decimal(amount).scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {decimals} decimal places.")
    return int(scaled)


def from_token_units(units: int, decimals: int) -> Decimal:
    if not isinstance(units, int):
        raise TypeError("Token amounts are integers.")
    return Decimal(units).scaleb(-decimals)


def format_money(amount, currency: str) -> str:
    """ "1,250,000.00 USD" with the active language's separators (the ISO code reads the same in
    every language). Decimal all the way: numberformat works on the string, never a float."""
    return "{} {}".format(numberformat.format(
        quantize(amount, currency), formats.get_format("DECIMAL_SEPARATOR"),
        decimal_pos=CURRENCY_EXPONENTS[currency], grouping=formats.get_format("NUMBER_GROUPING"),
        thousand_sep=formats.get_format("THOUSAND_SEPARATOR"), force_grouping=True), currency)


def unit_price_text(value) -> str:
    """A price per unit (or a stablecoin balance) as people read it, with the active language's
    separators: at least cents, up to the stablecoin's decimals, no trailing zeros beyond the
    cents (2.500000 → 2.50, 2.123456 → 2.123456, 3500 → 3,500.00). No currency: the caller
    says which (a column header, or " USD" after it)."""
    if value in (None, ""):
        return ""
    try:
        d = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    if not d.is_finite():
        return str(value)
    return numberformat.format(
        d, formats.get_format("DECIMAL_SEPARATOR"), decimal_pos=max(2, -d.as_tuple().exponent),
        grouping=formats.get_format("NUMBER_GROUPING"), thousand_sep=formats.get_format("THOUSAND_SEPARATOR"),
        force_grouping=True)


def format_base_units(base_units, decimals: int | None = None, currency: str = STABLECOIN_CURRENCY) -> str:
    """A token amount kept in base units (an int, or its string as the models store it) as money
    people read: 48551310000 at 6 decimals → "48,551.31 USD". Base units are for machines (the
    chain, CSVs, the API); a page, PDF or email shows this."""
    return format_money(from_token_units(int(str(base_units)), STABLECOIN_DECIMALS if decimals is None
                                         else int(decimals)), currency)
