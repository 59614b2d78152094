"""The local review page: correct a case's markers in the browser, with the values updating.

- :class:`ReviewSession` — one case, its hand-set markers, re-analysis through the one
  analysis core on every change, undo, "back to detected", save (atomic markers file);
- :class:`ReviewServer` — a standard-library HTTP server on 127.0.0.1 with a random token,
  serving the page (``static/``, no external resource) and its JSON API.

``nerveconduct review FILE…`` starts both; ``docs/review.md`` describes the workflow.
"""

from __future__ import annotations

from .server import HOST, TOKEN_HEADER, ReviewServer, page_html
from .session import LANDMARK_FIELDS, MAX_UNDO, REVIEW_FLAGS, ReviewError, ReviewSession

__all__ = ["ReviewSession", "ReviewServer", "ReviewError", "HOST", "TOKEN_HEADER",
           "LANDMARK_FIELDS", "REVIEW_FLAGS", "MAX_UNDO", "page_html"]
