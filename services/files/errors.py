"""The files service's refusals, in the domain's words (each raise makes a fresh one)."""

from __future__ import annotations

from shared.errors import Conflict, Invalid, NotFound, Unavailable, Unsupported


def file_not_found() -> NotFound:
    """An unknown id and a file the caller may not see get the same answer."""
    return NotFound("not_found", "Файл не найден.")


def file_in_use() -> Conflict:
    return Conflict(
        "file_in_use", "Файл приложен к заявке или к сообщению переписки, поэтому удалить его нельзя."
    )


def form_file_in_use() -> Conflict:
    return Conflict("file_in_use", "Это файл типовой формы, удалить его нельзя.")


def form_not_found() -> NotFound:
    return NotFound("form_not_found", "Такой типовой формы нет.")


def form_version_conflict() -> Conflict:
    return Conflict("form_version_conflict", "Одновременно публикуется другая версия формы, повторите.")


def unsupported_form() -> Unsupported:
    return Unsupported(
        "unsupported_form_format", "Типовая форма публикуется в формате DOCX, PDF, ODT или XLSX."
    )


def not_fillable() -> Invalid:
    return Invalid(
        "form_not_fillable", "Эту форму нельзя заполнить автоматически: скачайте её и заполните вручную."
    )


def power_out_of_range(span: str) -> Invalid:
    return Invalid("power_out_of_range", f"Для этой формы заявки максимальная мощность — {span}.")


def identity_required(need: str) -> Invalid:
    return Invalid("identity_required", f"Для этой формы заявки укажите {need}.")


def storage_down() -> Unavailable:
    return Unavailable("storage_unavailable", "Хранилище файлов временно недоступно, попробуйте позже.")


def no_pdf() -> Invalid:
    message = "PDF формируется только из документов DOCX: скачайте файл в исходном формате."
    return Invalid(
        "pdf_not_available_for_format",
        message,
        errors=[{"field": "format", "code": "pdf_not_available_for_format", "message": message}],
    )
