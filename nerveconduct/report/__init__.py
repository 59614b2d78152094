"""The printable, self-contained HTML report of a case."""

from __future__ import annotations

from .build import (
    DEFAULT_REPORT_CRITERIA,
    write_html,
    render_html,
)

__all__ = [
    "DEFAULT_REPORT_CRITERIA",
    "write_html",
    "render_html",
]
