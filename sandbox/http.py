"""The HTTP machinery the three emulators share: server, router, fault injection, rate limit,
request log and the /_sandbox/ control endpoints.

Built on the stdlib ThreadingHTTPServer so the sandbox has full control of the socket: a "reset"
fault really resets the TCP connection (SO_LINGER 0, then close), and a "slow" fault really
keeps the client waiting. HTTP/1.1 keep-alive is on, so a benchmark's session reuses its
connection.

Nothing personal is printed: the stdout line is service, method, route template and status. The
request log keeps the path (ids only) and the *names* of query parameters, never their values.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.clock import iso_utc_seconds, parse_iso_ms
from sandbox.store import Store

FAULT_KINDS = ("429", "500", "503", "slow", "reset")


# -- request and response ---------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    base_url: str
    params: dict[str, str] = field(default_factory=dict)
    auth: Any = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=UTF-8"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class HttpError(Exception):
    """Raised by a handler to answer with a vendor-shaped error response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def overridden(req: Request) -> Request:
    """A POST with `X-HTTP-Method-Override` stands for the method named there, its form body for
    the query string: how googleapiclient sends a GET whose URL is over 2048 characters (a
    batchGet of ~60 names or more; googleapiclient/http.py, MAX_URI_LENGTH), which Google's
    front end answers as that GET. The header is one of Google's system parameters:
    https://cloud.google.com/apis/docs/system-parameters ("X-HTTP-Method-Override: The intended
    HTTP method for the request. Some network proxies don't accept all HTTP methods.")."""
    method = (req.headers.get("X-HTTP-Method-Override") or "").strip().upper()
    if req.method != "POST" or not method:
        return req
    query = {name: list(values) for name, values in req.query.items()}
    body = req.body
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        for name, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items():
            query.setdefault(name, []).extend(values)
        body = b""
    return replace(req, method=method, query=query, body=body)


# -- routing ------------------------------------------------------------------------------------

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass
class Route:
    method: str
    template: str
    handler: Callable[[Request], Response]
    pattern: re.Pattern[str]
    rate_limited: bool = True
    authenticated: bool = True


def compile_template(template: str) -> re.Pattern[str]:
    regex = ""
    pos = 0
    for match in _PARAM.finditer(template):
        regex += re.escape(template[pos : match.start()]) + f"(?P<{match.group(1)}>[^/:]+)"
        pos = match.end()
    regex += re.escape(template[pos:])
    return re.compile(f"^{regex}$")


# -- fault injection and rate limit -----------------------------------------------------------


class Faults:
    """Random faults, reproducible from a seed. rate 0 turns them off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rate = 0.0
        self.kinds: tuple[str, ...] = ()
        self.seed: int | None = None
        self.slow_seconds = 5.0
        self._rng = random.Random(0)
        self.injected: dict[str, int] = {}  # kind -> how many faults were served

    def configure(
        self,
        rate: float,
        kinds: list[str] | tuple[str, ...] | None = None,
        seed: int | None = None,
        slow_seconds: float | None = None,
    ) -> None:
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        chosen = tuple(str(kind) for kind in (kinds or FAULT_KINDS))
        unknown = [kind for kind in chosen if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {list(FAULT_KINDS)}")
        with self._lock:
            self.rate = rate
            self.kinds = chosen
            self.seed = seed
            self._rng = random.Random(seed)
            if slow_seconds is not None:
                self.slow_seconds = float(slow_seconds)

    def draw(self) -> str | None:
        with self._lock:
            if self.rate <= 0.0 or not self.kinds:
                return None
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rate": self.rate,
                "kinds": list(self.kinds),
                "seed": self.seed,
                "slow_seconds": self.slow_seconds,
                "injected": dict(self.injected),
            }


class RateLimiter:
    """At most `per_second` requests in any one-second window (a sliding log). None: no limit."""

    def __init__(self, per_second: float | None = None) -> None:
        self._lock = threading.Lock()
        self._times: deque[float] = deque()
        self.per_second = per_second

    def configure(self, per_second: float | None) -> None:
        with self._lock:
            self.per_second = per_second if per_second and per_second > 0 else None
            self._times.clear()

    def check(self) -> float | None:
        """None when the request may go ahead (and it is counted); else seconds until it may."""
        with self._lock:
            if self.per_second is None:
                return None
            now = time.monotonic()
            while self._times and now - self._times[0] >= 1.0:
                self._times.popleft()
            if len(self._times) >= self.per_second:
                return max(1.0 - (now - self._times[0]), 0.001)
            self._times.append(now)
            return None

    def remaining(self) -> int | None:
        """Requests left in the current one-second window (None: no limit)."""
        with self._lock:
            if self.per_second is None:
                return None
            now = time.monotonic()
            used = sum(1 for t in self._times if now - t < 1.0)
            return max(int(self.per_second) - used, 0)


class RequestLog:
    """The vendor requests the sandbox answered: no query values, no bodies."""

    def __init__(self, maxlen: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._seq = 0

    def add(self, **entry: Any) -> None:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)

    def entries(self, service: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._entries if service is None or e["service"] == service]

    def clear(self, service: str | None = None) -> int:
        with self._lock:
            before = len(self._entries)
            kept = [e for e in self._entries if service is not None and e["service"] != service]
            self._entries.clear()
            self._entries.extend(kept)
            return before - len(kept)


# -- a vendor emulator --------------------------------------------------------------------------


class Service:
    """One vendor API on one port. Subclasses register routes and shape their errors."""

    name = "service"
    default_rate_limit: float | None = None
    method_override = False  # honours POST + X-HTTP-Method-Override (see `overridden`)

    def __init__(self, store: Store) -> None:
        self.store = store
        self.routes: list[Route] = []
        self.control_routes: list[Route] = []
        self.faults = Faults()
        self.limiter = RateLimiter(self.default_rate_limit)

    def add(
        self,
        method: str,
        template: str,
        handler: Callable[[Request], Response],
        *,
        rate_limited: bool = True,
        authenticated: bool = True,
    ) -> None:
        self.routes.append(
            Route(
                method, template, handler, compile_template(template), rate_limited, authenticated
            )
        )

    def add_control(self, method: str, template: str, handler: Callable[[Request], Response]):
        self.control_routes.append(Route(method, template, handler, compile_template(template)))

    def match(self, method: str, path: str, routes: list[Route] | None = None):
        """(route, params) for the request; (None, True) when only the method is wrong."""
        path_matched = False
        for route in self.routes if routes is None else routes:
            found = route.pattern.match(path)
            if found:
                path_matched = True
                if route.method == method:
                    return route, found.groupdict()
        return None, path_matched

    # Vendor-shaped answers; each emulator overrides these.
    def authenticate(self, req: Request) -> Response | None:
        return None

    def error(self, status: int, message: str) -> Response:
        return Response(status, {"error": message})

    def rate_limited(self, retry_after: float) -> Response:
        return self.error(429, "Too Many Requests")

    def rate_limit_headers(self) -> dict[str, str]:
        """Headers every rate-limited answer carries (none unless the vendor documents some)."""
        return {}

    def fault_response(self, kind: str) -> Response:
        if kind == "429":
            return self.rate_limited(1.0)
        return self.error(int(kind), "Service Unavailable" if kind == "503" else "Internal Error")


# -- control endpoints (/_sandbox/...) ----------------------------------------------------------


def _body(req: Request) -> dict[str, Any]:
    try:
        data = req.json()
    except ValueError as exc:
        raise HttpError(Response(400, {"error": "body is not JSON"})) from exc
    if not isinstance(data, dict):
        raise HttpError(Response(400, {"error": "body must be a JSON object"}))
    return data


class Controls:
    """The /_sandbox/ endpoints every port answers (no auth, not part of any vendor API)."""

    def __init__(self, store: Store, log: RequestLog) -> None:
        self.store = store
        self.log = log

    def handle(self, service: Service, req: Request) -> Response:
        path, method = req.path, req.method
        try:
            if path == "/_sandbox/state" and method == "GET":
                return Response(
                    200,
                    {
                        "service": service.name,
                        "now": iso_utc_seconds(self.store.now_ms()),
                        "tables": self.store.counts(),
                    },
                )
            if path == "/_sandbox/now":
                if method == "POST":
                    self._set_now(_body(req))
                if method in ("GET", "POST"):
                    return Response(200, {"now": iso_utc_seconds(self.store.now_ms())})
            if path == "/_sandbox/faults":
                if method == "POST":
                    data = _body(req)
                    try:
                        service.faults.configure(
                            data.get("rate", 0),
                            data.get("kinds"),
                            data.get("seed"),
                            data.get("slow_seconds"),
                        )
                    except (TypeError, ValueError) as exc:
                        return Response(400, {"error": str(exc)})
                if method in ("GET", "POST"):
                    return Response(200, {"service": service.name, **service.faults.snapshot()})
            if path == "/_sandbox/rate_limit":
                if method == "POST":
                    value = _body(req).get("per_second")
                    try:
                        service.limiter.configure(float(value) if value else None)
                    except (TypeError, ValueError):
                        return Response(400, {"error": "per_second must be a number"})
                if method in ("GET", "POST"):
                    return Response(
                        200, {"service": service.name, "per_second": service.limiter.per_second}
                    )
            if path == "/_sandbox/requests" and method in ("GET", "DELETE"):
                scope = None if req.arg("service") == "all" else service.name
                if method == "DELETE":
                    return Response(200, {"cleared": self.log.clear(scope)})
                entries = self.log.entries(scope)
                return Response(200, {"count": len(entries), "requests": entries})
            route, params = service.match(method, path, service.control_routes)
            if route is not None:
                req.params = params
                return route.handler(req)
        except HttpError as exc:
            return exc.response
        return Response(404, {"error": f"no control endpoint {method} {path}"})

    def _set_now(self, data: dict[str, Any]) -> None:
        if "now" in data:
            try:
                ms = parse_iso_ms(str(data["now"]))
            except ValueError as exc:
                raise HttpError(Response(400, {"error": "now must be ISO 8601"})) from exc
        else:
            ms = self.store.now_ms()
        ms += int(float(data.get("advance_days", 0)) * 86_400_000)
        ms += int(float(data.get("advance_seconds", 0)) * 1000)
        self.store.set_now(ms)


# -- the server ---------------------------------------------------------------------------------


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        service: Service,
        controls: Controls,
        log: RequestLog,
        *,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, Handler)
        self.service = service
        self.controls = controls
        self.log = log
        self.verbose = verbose
        self.stopping = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """socketserver prints the whole exception; print its type only (no data, no address)."""
        exc = sys.exc_info()[1]
        print(
            f"sandbox: {self.service.name} connection error: {type(exc).__name__}", file=sys.stderr
        )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the stdlib line holds the full URL, and a query string can hold an e-mail."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- dispatch -------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            base_url=f"http://{host}",
        )
        service = self.server.service
        if service.method_override:
            req = overridden(req)
        if req.path.startswith("/_sandbox/"):
            self._send(self.server.controls.handle(service, req))
            return

        route, params = service.match(req.method, req.path)
        template = route.template if route else "<unmatched>"
        fault = service.faults.draw() if route else None
        if fault == "reset":
            self._record(req, template, 0, fault)
            self._reset()
            return
        if fault == "slow":
            self.server.stopping.wait(service.faults.slow_seconds)
        if fault in ("429", "500", "503"):
            response = service.fault_response(fault)
        elif route is None:
            response = (
                service.error(405, "Method Not Allowed")
                if params
                else service.error(404, "Not Found")
            )
        else:
            req.params = params
            response = self._run(service, route, req)
        self._record(req, template, response.status, fault)
        self._send(response)

    def _run(self, service: Service, route: Route, req: Request) -> Response:
        try:
            if route.authenticated:
                refused = service.authenticate(req)
                if refused is not None:
                    return refused
            if not route.rate_limited:
                return route.handler(req)
            wait = service.limiter.check()
            if wait is not None:
                return service.rate_limited(wait)
            try:
                response = route.handler(req)
            except HttpError as exc:
                response = exc.response
            response.headers.update(service.rate_limit_headers())  # counted, so told
            return response
        except HttpError as exc:
            return exc.response
        except Exception as exc:
            # Where it failed (code), not why (an exception's message could quote data).
            frames = "".join(traceback.format_tb(exc.__traceback__))
            print(
                f"sandbox: {service.name} {route.template} failed: {type(exc).__name__}\n{frames}",
                file=sys.stderr,
            )
            return service.error(500, "Internal Error")

    def _record(self, req: Request, template: str, status: int, fault: str | None) -> None:
        service = self.server.service
        self.server.log.add(
            service=service.name,
            method=req.method,
            path=req.path,
            route=template,
            query_keys=sorted(req.query),
            status=status,
            fault=fault,
            time=time.time(),
        )
        if self.server.verbose:
            shown = "RESET" if status == 0 else status
            print(f"{service.name} {req.method} {template} {shown}", flush=True)

    def setup(self) -> None:
        super().setup()
        # Small JSON answers: no Nagle delay (a client's delayed ACK would add ~40 ms each).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, response: Response) -> None:
        payload = response.encode()
        try:
            self.send_response(response.status)
            if response.body is not None:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            # Headers and body in one write (end_headers() would send the headers alone).
            self._headers_buffer.append(b"\r\n")
            if payload and self.command != "HEAD":
                self._headers_buffer.append(payload)
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset(self) -> None:
        """Abort the TCP connection: SO_LINGER 0 makes close() send RST instead of FIN."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for closable in (self.rfile, self.wfile, self.connection):
            with contextlib.suppress(OSError):
                closable.close()
