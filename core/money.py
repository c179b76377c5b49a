"""Money as integer minor units with an ISO 4217 currency: parsing and display, never floats."""

import re

# Currencies the marketplace accepts, with their minor-unit exponent (ISO 4217).
CURRENCY_EXPONENTS: dict[str, int] = {"USD": 2, "EUR": 2, "GBP": 2}
CURRENCY_SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£"}
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_EXPONENTS]

# ASCII digits only: full-width or Arabic-Indic digits must not pass for an amount.
_AMOUNT_PATTERN = re.compile(r"^(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?$", re.ASCII)


class AmountError(ValueError):
    """The text is not a valid positive amount; the message is safe to show to a user."""


def parse_amount(text: str, *, currency: str, maximum: int | None = None) -> int:
    """Parse "1,250.50" into 125050 minor units; refuse anything ambiguous.

    Refused: empty, signs, exponents, letters, more decimals than the currency has, zero,
    and amounts above `maximum` (in minor units).
    """
    exponent = CURRENCY_EXPONENTS.get(currency)
    if exponent is None:
        raise AmountError(f"{currency} is not a supported currency.")
    cleaned = (text or "").strip()
    if not cleaned:
        raise AmountError("Enter an amount.")
    if cleaned.startswith("-"):
        raise AmountError("The amount must be positive.")
    match = _AMOUNT_PATTERN.match(cleaned)
    if match is None:
        raise AmountError(
            "Enter an amount like 1250 or 1,250.50 (digits, optional thousands commas and a decimal point)."
        )
    fraction = match.group("frac") or ""
    if len(fraction) > exponent:
        raise AmountError(f"{currency} amounts have at most {exponent} decimal places.")
    minor = int(match.group("whole").replace(",", "")) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    if minor <= 0:
        raise AmountError("The amount must be greater than zero.")
    if maximum is not None and minor > maximum:
        raise AmountError(f"The amount may be at most {format_money(maximum, currency)}.")
    return minor


def format_money(amount: int, currency: str) -> str:
    """125050, "USD" -> "$1,250.50"; negative amounts keep their sign in front."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    sign = "\u2212" if amount < 0 else ""  # a true minus sign reads better than a hyphen
    whole, fraction = divmod(abs(amount), 10**exponent)
    symbol = CURRENCY_SYMBOLS.get(currency)
    number = f"{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "")
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


def format_amount_plain(amount: int, currency: str) -> str:
    """125050, "USD" -> "1250.50": for form fields and CSV, no symbol or separators."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}" + (f".{fraction:0{exponent}d}" if exponent else "")
