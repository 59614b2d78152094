"""The review page's local server: standard library only, 127.0.0.1, one random token.

:class:`ReviewServer` (an :class:`http.server.ThreadingHTTPServer`) serves one
:class:`~.session.ReviewSession` to the browser of the person who started it:

- it listens on ``127.0.0.1`` only (a free port unless one is given);
- every request carries the token of the printed URL (``secrets.token_urlsafe``): the pages
  (``/`` and ``/report``) as the query ``?token=``, the API (``/api/...``) in the
  ``X-Review-Token`` header; a request without it, with a wrong one, or for another host name
  than ``127.0.0.1``/``localhost`` gets 403 and nothing else;
- the page, its script and its style come from the package (``static/``), inline in one
  response; the Content-Security-Policy forbids every other origin (no CDN, no fonts);
- the request log never shows the token (paths only, and only with ``-v``).

API (JSON in and out; errors are ``{"error": text}`` with status 400):

====================  ======================================================================
``GET  /api/state``   :meth:`~.session.ReviewSession.state` (traces included)
``POST /api/markers`` ``{"set": [{"nerve", "site", "marker", "time_ms"}, ...]}`` -> new state
``POST /api/detected`` ``{"nerve"?, "site"?, "marker"?}``: back to detected (all when empty)
``POST /api/undo``    undo the last change
``POST /api/save``    write the markers file -> ``{"saved": file name, ...state}``
``GET  /report``      the HTML report (:func:`nerveconduct.report.render_html`) with the
                      current markers, as ``nerveconduct report`` writes it
====================  ======================================================================
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..io.markers import MarkerError
from ..report import render_html
from .session import ReviewError, ReviewSession

__all__ = ["ReviewServer", "TOKEN_HEADER", "HOST", "page_html"]

#: The only address the server listens on.
HOST = "127.0.0.1"
#: Header that carries the token on API requests.
TOKEN_HEADER = "X-Review-Token"
#: Largest request body accepted (bytes).
MAX_BODY_BYTES = 1 << 20

log = logging.getLogger("nerveconduct.review")

_PAGE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
             "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'")
_REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")


def page_html() -> str:
    """The review page: ``static/review.html`` with its style and script inlined."""
    static = resources.files(__package__).joinpath("static")
    html = static.joinpath("review.html").read_text(encoding="utf-8")
    css = static.joinpath("review.css").read_text(encoding="utf-8")
    js = static.joinpath("review.js").read_text(encoding="utf-8")
    return html.replace("/*REVIEW_CSS*/", css).replace("/*REVIEW_JS*/", js)


class ReviewServer(ThreadingHTTPServer):
    """Serve ``session`` on 127.0.0.1 (see the module docstring).

    Parameters
    ----------
    session : ReviewSession
        The case under review.
    markers_out : path-like
        Where "save" writes the markers file.
    port : int, default 0
        TCP port; 0 picks a free one (:attr:`port` tells which).
    report_options : dict, optional
        Keyword arguments of :func:`~nerveconduct.report.render_html` besides the case,
        criteria, limits, identifiers and markers (e.g. ``paper``).
    """

    daemon_threads = True

    def __init__(self, session: ReviewSession, markers_out: str | Path, *, port: int = 0,
                 report_options: dict[str, Any] | None = None) -> None:
        self.session = session
        self.markers_out = Path(markers_out)
        self.token = secrets.token_urlsafe(32)
        self.report_options = dict(report_options or {})
        self._page = page_html()
        super().__init__((HOST, port), _Handler)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def check_token(self, given: str | None) -> bool:
        """Whether ``given`` is this server's token (compared in constant time)."""
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def report(self) -> str:
        """The HTML report of the case with the current markers."""
        s = self.session
        return render_html(s.case, criteria=s.criteria, limits=s.limits,
                           keep_identifiers=s.keep_identifiers, markers=s.markers,
                           **self.report_options)


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"
    server_version = "nerveconduct-review"
    sys_version = ""

    # ------------------------------------------------------------------ plumbing
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        log.debug("%s %s", self.command, urlsplit(self.path).path)  # never the query (token)

    def _send(self, status: int, body: bytes, content_type: str, csp: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if csp:
            self.send_header("Content-Security-Policy", csp)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        body = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        self._send(status, body.encode("utf-8"), "application/json; charset=utf-8")

    def _forbidden(self) -> None:
        self._send(403, b"forbidden\n", "text/plain; charset=utf-8")

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").lower()
        return host in (f"{HOST}:{self.server.port}", f"localhost:{self.server.port}")

    def _authorized(self, api: bool, query: dict[str, list[str]]) -> bool:
        if not self._host_ok():
            return False
        given = self.headers.get(TOKEN_HEADER) if api else (query.get("token") or [None])[0]
        return self.server.check_token(given)

    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ReviewError("Content-Length must be a number of bytes") from None
        if not 0 <= length <= MAX_BODY_BYTES:
            raise ReviewError(f"a request body must have at most {MAX_BODY_BYTES} bytes, got {length}")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            obj = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            raise ReviewError("the request body must be a JSON object") from None
        if not isinstance(obj, dict):
            raise ReviewError(f"the request body must be a JSON object, got {type(obj).__name__}")
        return obj

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        url = urlsplit(self.path)
        api = url.path.startswith("/api/")
        if not self._authorized(api, parse_qs(url.query)):
            return self._forbidden()
        try:
            if url.path == "/":
                self._send(200, self.server._page.encode("utf-8"), "text/html; charset=utf-8",
                           _PAGE_CSP)
            elif url.path == "/report":
                html = self.server.report()
                self._send(200, html.encode("utf-8"), "text/html; charset=utf-8", _REPORT_CSP)
            elif url.path == "/api/state":
                self._json(200, {**self.server.session.state(),
                                 "markers_file": self.server.markers_out.name})
            else:
                self._json(404, {"error": f"no such page: {url.path}"})
        except Exception as exc:  # noqa: BLE001 (reported as a 500 with the error's type)
            self._fail(exc)

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        url = urlsplit(self.path)
        if not url.path.startswith("/api/") or not self._authorized(True, {}):
            return self._forbidden()
        session = self.server.session
        try:
            body = self._body()
            if url.path == "/api/markers":
                self._json(200, session.set_markers(body.get("set")))
            elif url.path == "/api/detected":
                extra = sorted(set(body) - {"nerve", "site", "marker"})
                if extra:
                    raise ReviewError(f"unknown key(s) {extra}; allowed: 'nerve', 'site', 'marker'")
                self._json(200, session.back_to_detected(body.get("nerve"), body.get("site"),
                                                         body.get("marker")))
            elif url.path == "/api/undo":
                self._json(200, session.undo())
            elif url.path == "/api/save":
                path = session.save(self.server.markers_out)
                self._json(200, {"saved": path.name, **session.state(traces=False)})
            else:
                self._json(404, {"error": f"no such action: {url.path}"})
        except (ReviewError, MarkerError, ValueError) as exc:
            self._json(400, {"error": str(exc)})
        except OSError as exc:  # the markers file could not be written: say which and why
            self._json(500, {"error": f"could not write {self.server.markers_out.name}: "
                                      f"{exc.strerror or type(exc).__name__}"})
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        log.error("review request failed: %s", type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
        self._json(500, {"error": f"internal error ({type(exc).__name__}); run with --debug for details"})
