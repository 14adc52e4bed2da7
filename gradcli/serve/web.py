"""The HTTP side of `gradcli serve`: a Starlette app over the pool of warm children.

Every request passes, in order: the Host check (DNS rebinding: only the server's own names), for POSTs
the origin check (Origin / Sec-Fetch-Site: no other page may post here) and the JSON content type, the
token when one is set, the body's size bound, the fields' checks (gradcli.serve.requests), and a bound on
requests in flight; only then does a warm child see it, under the request's wall-time limit. Each refusal
is a 4xx with one JSON `message`; nothing here answers a 500, and nothing waits past the deadline.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from gradcli.serve import answers, requests
from gradcli.serve.adapters import PLATFORMS
from gradcli.serve.metrics import Metrics
from gradcli.serve.pool import Busy, Outcome
from gradcli.serve.requests import Refused

STATIC = Path(__file__).parent / "static"
MAX_IN_FLIGHT = 64  # requests waiting for or in a child; more get 429 at once
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css",
          ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json", ".txt": "text/plain"}  # fmt: skip
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def own_hosts(host: str, port: int) -> frozenset[str] | None:
    """The Host headers this server answers: its own names with its port; None when bound to every address
    (a replica behind a load balancer, whose names it cannot know: the token is the guard there)."""
    if host in ("0.0.0.0", "::", ""):
        return None
    names = {host, f"[{host}]" if ":" in host else host}
    if host in LOOPBACK:
        names |= {"127.0.0.1", "localhost", "[::1]"}
    return frozenset(f"{n}:{port}" for n in names) | (frozenset(names) if port == 80 else frozenset())


class Server:
    def __init__(self, pool, hosts: frozenset[str] | None, token: str | None, static: Path = STATIC):
        self.pool, self.hosts, self.token, self.static = pool, hosts, token, static
        self.metrics = Metrics()
        self.in_flight = 0
        self.executor = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="gradcli-serve")

    # --- the checks every request passes ----------------------------------------------------------

    def _guard(self, request: Request) -> None:
        if self.hosts is not None and request.headers.get("host", "").lower() not in self.hosts:
            raise Refused("this server answers only to its own address (Host header refused)", 421)
        if request.method == "POST":
            origin = request.headers.get("origin")
            site = request.headers.get("sec-fetch-site")
            if origin is not None and not self._own_origin(origin):
                raise Refused("cross-origin requests are refused", 403)
            if site is not None and site not in ("same-origin", "none"):
                raise Refused("cross-site requests are refused", 403)
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                raise Refused("send the request as JSON (Content-Type: application/json)", 415)
        if self.token is not None and request.url.path.startswith(("/api/", "/metrics")):
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                raise Refused("this server needs its token (Authorization: Bearer TOKEN)", 401)

    def _own_origin(self, origin: str) -> bool:
        scheme, _, rest = origin.partition("://")
        return scheme in ("http", "https") and (self.hosts is None or rest.lower() in self.hosts)

    async def _body(self, request: Request) -> dict:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > requests.MAX_BODY):
            raise Refused(f"the request is larger than the limit of {requests.MAX_BODY} bytes", 413)
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > requests.MAX_BODY:
                raise Refused(f"the request is larger than the limit of {requests.MAX_BODY} bytes", 413)
        return requests.decode(bytes(raw))

    # --- the API ------------------------------------------------------------------------------------

    async def api(self, request: Request) -> Response:
        started = time.monotonic()
        endpoint = request.path_params["endpoint"]
        try:
            if endpoint not in requests.ENDPOINTS:
                raise Refused(f"there is no API call {endpoint!r}; see /api/v1/openapi.json", 404)
            self._guard(request)
            body = await self._body(request)
            timeout = requests.timeout(body)
            if endpoint.startswith("adapters/"):
                fields = PLATFORMS[endpoint.removeprefix("adapters/")].read(body)
            else:
                fields = requests.fields(endpoint, body)
            status, answer = await self._ask(endpoint, fields, timeout, started + timeout)
        except Refused as exc:
            status, answer = exc.status, exc.to_dict()
        except Exception as exc:  # a bug of gradcli's: counted, said in one line, never a 500 page
            self.metrics.internal_errors += 1
            status, answer = (
                422,
                {"message": f"internal error, a bug in gradcli: {type(exc).__name__}", "position": None},
            )
        self.metrics.observe(endpoint, status, time.monotonic() - started)
        if status == 200:
            self.metrics.verdict(answer)
        return JSONResponse(answer, status, headers={"Cache-Control": "no-store", **_HEADERS})

    async def _ask(self, endpoint: str, fields: dict, timeout: float, deadline: float) -> tuple[int, dict]:
        if self.in_flight >= MAX_IN_FLIGHT:
            self.metrics.busy += 1
            raise Refused("the server is busy; try again in a moment", 429)
        self.in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            outcome: Outcome = await loop.run_in_executor(
                self.executor, self.pool.ask, endpoint, _wire(fields), timeout, deadline
            )
        except Busy:
            self.metrics.busy += 1
            raise Refused("the server is busy; try again in a moment", 429) from None
        finally:
            self.in_flight -= 1
        if outcome.body is None:
            self.metrics.timeouts[endpoint] += 1
            return _too_long(endpoint, fields, timeout)
        if outcome.status == 0:
            self.metrics.internal_errors += 1
            return 422, {"message": outcome.body["message"], "position": None}
        return outcome.status, outcome.body

    # --- operations and the page -------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=_HEADERS)

    async def readyz(self, request: Request) -> Response:
        """Ready when a warm child answers a known problem right now."""
        from gradcli.serve.pool import KNOWN

        try:
            self._guard(request)
            endpoint, fields = KNOWN
            status, body = await self._ask(endpoint, fields, 5.0, time.monotonic() + 5.0)
        except Refused as exc:
            return JSONResponse({"status": "not ready", "reason": exc.message}, 503, headers=_HEADERS)
        if status == 200 and body.get("verdict") == "correct":
            return JSONResponse({"status": "ready"}, headers=_HEADERS)
        return JSONResponse({"status": "not ready", "reason": body.get("message", "wrong answer")}, 503)

    async def metrics_text(self, request: Request) -> Response:
        try:
            self._guard(request)
        except Refused as exc:
            return JSONResponse(exc.to_dict(), exc.status)
        status = await asyncio.get_running_loop().run_in_executor(self.executor, self.pool.status)
        text = self.metrics.text(status.get("ready", 0) if status else 0)
        return PlainTextResponse(text, headers={"Content-Type": "text/plain; version=0.0.4"})

    async def openapi(self, request: Request) -> Response:
        from gradcli.serve.openapi import document

        try:
            self._guard(request)
        except Refused as exc:
            return JSONResponse(exc.to_dict(), exc.status)
        return JSONResponse(document(), headers=_HEADERS)

    async def page(self, request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        try:
            self._guard(request)
        except Refused as exc:
            return JSONResponse(exc.to_dict(), exc.status)
        path = self.static / name
        kind = _TYPES.get(path.suffix)
        if "/" in name or name.startswith(".") or kind is None or not path.is_file():
            return JSONResponse({"message": f"no such file: {name}", "position": None}, 404, headers=_HEADERS)
        return Response(path.read_bytes(), headers={"Content-Type": kind, "Cache-Control": "no-cache", **_HEADERS})

    async def not_allowed(self, request: Request) -> Response:
        return JSONResponse({"message": "the API takes POST requests with a JSON body", "position": None}, 405)


def _wire(fields: dict) -> dict:
    """Batch items that were refused travel as their refusal (the child answers them as invalid)."""
    if "items" not in fields:
        return fields
    items = [i.to_dict() | {"refused": True} if isinstance(i, Refused) else i for i in fields["items"]]
    return {"items": items}


def _too_long(endpoint: str, fields: dict, timeout: float) -> tuple[int, dict]:
    if endpoint == "check":
        return 200, answers.too_long(fields)
    if endpoint == "check/batch":
        return 200, {"results": [answers.too_long(i if isinstance(i, dict) else {}) for i in fields["items"]]}
    if endpoint.startswith("adapters/"):
        return 200, PLATFORMS[endpoint.removeprefix("adapters/")].write(answers.too_long(fields))
    return 422, {"message": f"{answers.TOO_LONG}: no answer within {timeout:g} s", "position": None}


def app(pool, hosts: frozenset[str] | None, token: str | None, static: Path = STATIC) -> Starlette:
    server = Server(pool, hosts, token, static)
    routes = [
        Route("/api/v1/openapi.json", server.openapi, methods=["GET"]),
        Route("/api/v1/{endpoint:path}", server.api, methods=["POST"]),
        Route("/api/v1/{endpoint:path}", server.not_allowed, methods=["GET", "PUT", "DELETE", "PATCH"]),
        Route("/healthz", server.healthz, methods=["GET"]),
        Route("/readyz", server.readyz, methods=["GET"]),
        Route("/metrics", server.metrics_text, methods=["GET"]),
        Route("/", server.page, methods=["GET"]),
        Route("/static/{name:path}", server.page, methods=["GET"]),
    ]
    application = Starlette(routes=routes, exception_handlers={404: _missing, 405: _method})
    application.state.server = server
    return application


async def _missing(request: Request, exc) -> Response:
    return JSONResponse({"message": f"no such page: {request.url.path}", "position": None}, 404)


async def _method(request: Request, exc) -> Response:
    return JSONResponse({"message": f"{request.method} is not allowed here", "position": None}, 405)
