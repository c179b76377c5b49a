from django import template

from core.money import format_money

register = template.Library()


@register.filter(name="money")
def money_filter(amount: int | None, currency: str) -> str:
    """{{ milestone.amount|money:milestone.currency }} -> "$1,250.50"."""
    if amount is None:
        return ""
    return format_money(int(amount), currency)
