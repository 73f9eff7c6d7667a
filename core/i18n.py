"""French first, English available: locale selection and formatting of dates, numbers and money."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, request
from flask_babel import Babel, format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_babel import format_currency as _format_currency
from flask_login import current_user

LOCALES = ("fr", "en")

# Currencies without a minor unit would be divided by 1; Rayonne's territories use EUR.
MINOR_UNITS = {"EUR": 100, "USD": 100, "GBP": 100, "CHF": 100, "JPY": 1}


def supported_locale(locale: str | None, default: str = "fr") -> str:
    """`locale` if Rayonne speaks it, else `default` (for what is written to a territory or a recipient)."""
    return locale if locale in LOCALES else default


def select_locale() -> str:
    """The user's choice, then the territory's locale, then the browser's, then French."""
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    territory = g.get("territory")
    if territory is not None and territory.locale in LOCALES:
        return territory.locale
    default = current_app.config["RAYONNE_SETTINGS"].DEFAULT_LOCALE
    if request:
        return request.accept_languages.best_match(LOCALES, default=default) or default
    return default


def select_timezone() -> str:
    territory = g.get("territory")
    if territory is not None:
        return territory.timezone
    return current_app.config["RAYONNE_SETTINGS"].DEFAULT_TIMEZONE


def minor_to_major(amount_minor: int, currency: str = "EUR") -> Decimal:
    return Decimal(amount_minor) / MINOR_UNITS.get(currency, 100)


def major_to_minor(amount: Decimal | str | float, currency: str = "EUR", locale: str | None = None) -> int:
    """An amount in currency units to exact minor units (cents).

    Strings are read as a person of `locale` types them (default: the request's locale, else French):
    French "1 234,50" or "1500,5"; English "1,234.50". Facebook's "42.17" reads the same in both.
    :raise ValueError: not a number, or more decimals than the currency has.
    """
    if isinstance(amount, str):
        text = amount.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "")
        if (locale or _current_language()) == "en":
            text = text.replace(",", "")
        elif "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            amount = Decimal(text)
        except ArithmeticError as exc:
            raise ValueError(f"not an amount: {amount!r}") from exc
    value = Decimal(str(amount)) * MINOR_UNITS.get(currency, 100)
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError("too many decimals for this currency")
    return int(value)


def _current_language() -> str:
    try:
        return str(get_locale() or "fr")[:2]
    except RuntimeError:  # outside a request or app context
        return "fr"


def money(amount_minor: int | None, currency: str = "EUR") -> str:
    """`1 234,56 €` in French, `€1,234.56` in English; missing stays visibly missing."""
    if amount_minor is None:
        return "—"
    return _format_currency(minor_to_major(amount_minor, currency), currency)


def number(value: int | float | Decimal | None, digits: int | None = None) -> str:
    if value is None:
        return "—"
    if digits is not None:
        return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
    return format_decimal(value)


def percent(value: float | None, digits: int = 1) -> str:
    """`22,7 %` in French, `22.7%` in English (the locale's own percent pattern)."""
    if value is None:
        return "—"
    pattern = get_locale().percent_formats[None].pattern
    if digits:
        pattern = pattern.replace("0", "0." + "0" * digits, 1) if "." not in pattern else pattern
    return format_percent(value, format=pattern)


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    return format_datetime(value, fmt)


def local_date(value: date | None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    return format_date(value, fmt)


def to_local(value: datetime, tz: str) -> datetime:
    return value.astimezone(ZoneInfo(tz))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(
        money=money, number=number, percent=percent, datetime=local_datetime, date=local_date
    )
