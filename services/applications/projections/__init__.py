"""Applications' read side, one module per projection; all are rebuildable from the beginning
of their topics (shared/topology.py names them):

- :class:`ApplicationsView` (applications.view): the lists, the application page and the queue;
- :class:`DocumentsView` (applications.documents): the documents per checklist slot;
- :class:`ProcessView` (applications.process): the process's facts per application — the
  milestones, the company's documents, the offer with its invoice and payments, the contract's termination;
- :class:`FormsView` (applications.forms): which standard form belongs to which type;
- :class:`ChatCounters` (applications.chat): unread chat messages per application and side.
Accounts and files are the platform's references (shared/references.py, applications.refs).
"""

from services.applications.projections.chat import ChatCounters
from services.applications.projections.documents import DocumentsView
from services.applications.projections.forms import FormsView
from services.applications.projections.process import ProcessView
from services.applications.projections.view import ApplicationsView

__all__ = [
    "ApplicationsView",
    "ChatCounters",
    "DocumentsView",
    "FormsView",
    "ProcessView",
    "TerminationsView",
]
