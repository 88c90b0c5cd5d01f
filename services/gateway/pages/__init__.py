"""The Russian web client: server-rendered pages that work without JavaScript.

Pages call the services' public API (:mod:`.calls`), so a page can do nothing the API does
not allow. Every form carries a CSRF token that must match the ``lk_csrf`` cookie (double
submit). A form post answers with a redirect (post/redirect/get, :mod:`.post`): a failure goes
back to the form with the messages at their fields and the values typed, so a reload never
posts again.
"""

from __future__ import annotations

from services.gateway.pages import (
    account,
    applications,
    apply,
    calculator,
    chat,
    entry,
    files,
    mail,
    payments,
    process,
    staff,
    staff_issue,
    standard_forms,
    termination,
)

# In this order: the first route that matches a path answers it.
ROUTERS = (
    entry.router,
    mail.router,
    account.router,
    apply.router,
    calculator.router,
    applications.router,
    staff.router,
    staff_issue.router,
    process.router,
    termination.router,
    chat.router,
    standard_forms.router,
    files.router,
    payments.router,
)
