"""Messages at the fields of the account forms: what the API refuses, put at the field it
concerns in specific Russian, and what a form checks before asking the API at all."""

from __future__ import annotations

import re

import httpx

from services.gateway.pages.calls import error_list, refusal_of

# An error the API names by its code alone, and the field of the form it concerns.
CODE_FIELDS = {
    "weak_password": "password",
    "same_password": "new_password",
    "wrong_password": "current_password",
    "login_taken": "login",
    "email_taken": "email",
    "account_type_not_allowed": "account_type",
}
EMPTY = {
    "login": "Укажите логин",
    "email": "Укажите адрес e-mail",
    "password": "Укажите пароль",
    "password2": "Повторите пароль",
    "current_password": "Укажите текущий пароль",
    "new_password": "Укажите новый пароль",
    "new_password2": "Повторите новый пароль",
}
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_FORMAT = "Укажите адрес e-mail в формате name@example.ru"
LOGIN_FORMAT = "Логин может содержать только латинские буквы, цифры, точку, дефис и подчёркивание"
LOGIN_LENGTH = "Логин должен содержать от 3 до 64 символов"
MISMATCH = "Пароли не совпадают"
NAME_FIELDS = {"Имя": "first_name", "Фамилия": "last_name"}


def field_message(name: str, code: str, message: str, value: str) -> str:
    if not value.strip() and name in EMPTY:
        return EMPTY[name]
    if name == "email" and code not in ("email_taken",):
        return EMAIL_FORMAT
    if name == "login" and code == "string_pattern_mismatch":
        return LOGIN_FORMAT
    if name == "login" and code in ("string_too_short", "string_too_long"):
        return LOGIN_LENGTH
    if "password" in name and code == "string_too_long":
        return "Пароль слишком длинный"
    text = message.strip().rstrip(".")
    return text[:1].upper() + text[1:]


def field_errors(
    answer: httpx.Response, values: dict[str, str], rename: dict[str, str] | None = None
) -> tuple[str, dict[str, str], str]:
    """(banner, messages at the fields, code) of an API error answer for a form.

    The API's per-field errors (422 ``errors``) and the errors it names by code only
    (``weak_password``, ``login_taken`` …) go to their fields, in specific Russian; the banner
    keeps only what concerns no field of the form (``values`` names the form's fields).
    ``rename`` maps an API field to the form's (``password`` → ``new_password``)."""
    summary, api_fields, code = refusal_of(answer)
    rename = rename or {}
    fields: dict[str, str] = {}
    for api_name, message in api_fields.items():
        name = rename.get(api_name, api_name)
        field_code = next(
            (str(e.get("code", "")) for e in error_list(answer) if e.get("field") == api_name), ""
        )
        fields[name] = field_message(name, field_code, message, values.get(name, ""))
    if not api_fields:
        name = rename.get(CODE_FIELDS.get(code, ""), CODE_FIELDS.get(code, ""))
        if code == "invalid_name":
            label, _, rest = summary.partition(":")
            name, summary = NAME_FIELDS.get(label.strip(), ""), rest or summary
        if name:
            fields[name] = field_message(name, code, summary, values.get(name, "x"))
    elsewhere = [m for n, m in fields.items() if n not in values]  # no such field on this form
    fields = {n: m for n, m in fields.items() if n in values}
    if elsewhere:
        return " ".join([summary.rstrip(".") + ":", *elsewhere]), fields, code
    return ("" if fields else summary), fields, code  # what a field says, no banner repeats


def required(values: dict[str, str], *names: str) -> dict[str, str]:
    """«Укажите …» for each of ``names`` left empty, before asking the API."""
    return {n: EMPTY[n] for n in names if not values.get(n, "").strip()}


def email_checked(values: dict[str, str], fields: dict[str, str]) -> dict[str, str]:
    """``fields`` with the e-mail's format message, unless the e-mail already has one."""
    if "email" not in fields and not EMAIL_SHAPE.match(values["email"].strip()):
        fields["email"] = EMAIL_FORMAT
    return fields
