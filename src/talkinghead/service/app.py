"""HTTP routes, compatible with the hosted avatar API. Errors map to HTTP in one handler."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from talkinghead import __version__
from talkinghead.config import Options
from talkinghead.cues import make_cues
from talkinghead.errors import FileTooLargeError, TalkingHeadError
from talkinghead.pipeline import check_animatable
from talkinghead.service.core import Service
from talkinghead.service.errors import (
    BusyError,
    FetchError,
    InsufficientStorageError,
    NotFoundError,
    RateLimitedError,
    RequestError,
    is_disk_full,
)
from talkinghead.service.fetch import check_image_format, check_url, is_url
from talkinghead.service.jobs import JobStatus
from talkinghead.service.live import add_live_route
from talkinghead.service.schemas import (
    MODEL_V1,
    MODEL_V15,
    Avatar15Request,
    AvatarRequest,
    CuesRequest,
    Envelope,
    ErrorEnvelope,
    cues_options,
    parse_request,
    to_options,
)
from talkinghead.service.settings import Settings

PLAYGROUND = Path(__file__).parent / "playground"
DOCS_ASSETS = "/docs-assets"
Auth = Annotated[str | None, Header(alias="Authorization", description="Bearer <API key>")]
CUES_MAX_AUDIO_S = 300.0  # POST /api/v1/cues answers at once: about 15 s of work at most
CUES_AT_ONCE = 2
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorEnvelope} for code in (400, 401, 404, 413, 415, 422, 429, 500, 507)}


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app; its lifespan starts and stops the workers."""
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    app = FastAPI(title="talkinghead", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # /docs is served below, without a CDN
                  description="Portrait + audio -> talking MP4, compatible with the hosted "
                              "avatar API. See docs/SERVICE.md.")
    app.state.service = service
    _add_error_handlers(app)
    _add_routes(app, service)
    add_live_route(app, service)
    _add_docs(app)
    app.add_middleware(SecurityHeaders, public_url=settings.public_url)
    if settings.playground:
        app.mount("/playground", StaticFiles(directory=PLAYGROUND), name="playground")

        @app.get("/", include_in_schema=False)
        async def playground() -> FileResponse:
            return FileResponse(PLAYGROUND / "index.html")
    return app


def _add_routes(app: FastAPI, service: Service) -> None:
    for model, request_model in ((MODEL_V1, AvatarRequest), (MODEL_V15, Avatar15Request)):
        _add_submit_route(app, service, model, request_model)

    @app.get("/api/v3/predictions/{job_id}/result", response_model=Envelope, responses=ERRORS)
    @app.get("/api/v3/predictions/{job_id}", response_model=Envelope, responses=ERRORS)
    async def result(request: Request, job_id: str, authorization: Auth = None) -> Envelope:
        """Poll a task: created -> processing -> completed | failed."""
        owner = service.owner(authorization, _client(request))
        job = service.store.get(job_id)
        if job is None or job.owner != owner:
            raise NotFoundError(f"no prediction {job_id!r} (unknown, or expired and deleted)")
        return Envelope(data=await run_in_threadpool(service.present, job))

    @app.get("/files/{job_id}.mp4", responses=ERRORS, response_class=FileResponse)
    async def output_file(request: Request, job_id: str, authorization: Auth = None,
                          expires: str | None = None, sig: str | None = None) -> FileResponse:
        """The rendered MP4: needs the signed query of ``outputs`` or an API key."""
        path = f"/files/{job_id}.mp4"
        signed = service.signer.check(path, expires, sig)
        owner = None if signed else service.owner(authorization, _client(request))
        job = service.store.get(job_id)
        if job is None or (owner is not None and job.owner != owner):
            raise NotFoundError(f"no output for {job_id!r}")
        file = service.runner.paths.output(job_id)
        if job.status is not JobStatus.COMPLETED or not job_id.isalnum() or not file.is_file():
            raise NotFoundError(f"no output for {job_id!r} (not finished, or expired)")
        return FileResponse(file, media_type="video/mp4", filename=f"{job_id}.mp4")

    @app.get("/api/v3/webhook/secret")
    async def webhook_secret(request: Request, authorization: Auth = None) -> dict[str, Any]:
        """This key's webhook secret (HMAC-SHA256 key: the part after ``whsec_``).

        Each API key has its own; webhooks of tasks submitted with a key are signed with it.
        """
        owner = service.owner(authorization, _client(request))
        return {"code": 200, "message": "success",
                "data": {"secret": service.webhook_secret(owner)}}

    cue_slots = threading.BoundedSemaphore(CUES_AT_ONCE)

    @app.post("/api/v1/cues", response_class=Response, responses=ERRORS,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": CuesRequest.model_json_schema()}}}})
    async def cues(request: Request, authorization: Auth = None) -> Response:
        """Mouth cues for an audio clip, no video: Rhubarb TSV/JSON/XML, ARKit
        blendshapes, Oculus visemes or SRT/VTT captions. Answered at once (clips up
        to ``CUES_MAX_AUDIO_S``); the body of the answer is the cue file."""
        owner = service.owner(authorization, _client(request))
        service.admit_submission(owner)
        settings = service.settings
        body = await read_body(request, 2 * settings.max_audio_bytes + 2**16,
                               spool_dir=service.spool_dir)
        try:
            parsed = parse_request(CuesRequest, await run_in_threadpool(parse_json, body))
        finally:
            body.close()
        options = cues_options(parsed, max_audio_s=min(CUES_MAX_AUDIO_S, settings.max_audio_s))
        audio = await run_in_threadpool(service.load_input, parsed.audio, field="audio",
                                        max_bytes=settings.max_audio_bytes)
        if not cue_slots.acquire(blocking=False):  # analysis holds a request thread
            raise BusyError(f"{CUES_AT_ONCE} cue requests are being analysed; try again shortly")
        try:
            result = await run_in_threadpool(make_cues, audio, options, parsed.format)
        finally:
            cue_slots.release()
        return Response(result.text, media_type=result.media_type)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness and queue depth (no key needed)."""
        store = service.store
        return {"status": "ok", "version": __version__, "workers": service.settings.workers,
                "queued": store.count(JobStatus.CREATED),
                "processing": store.count(JobStatus.PROCESSING)}


def _add_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the assets the ``fastapi-offline`` wheel ships (no CDN)."""
    try:
        from importlib.resources import files

        assets = Path(str(files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        assets = Path("/nonexistent")
    if not (assets / "swagger-ui-bundle.js").is_file():
        @app.get("/docs", include_in_schema=False)
        async def no_docs() -> JSONResponse:
            return JSONResponse(ErrorEnvelope(
                code=404, error_code="not_found",
                message="the API reference page needs the fastapi-offline package; read "
                        "/openapi.json or docs/SERVICE.md").model_dump(), status_code=404)
        return
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title="talkinghead API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png")


class SecurityHeaders:
    """``nosniff`` on every answer; a CSP and no framing for the playground and /docs pages."""

    def __init__(self, app: ASGIApp, *, public_url: str | None = None) -> None:
        self.app = app
        media = "'self' blob:"
        if public_url:  # videos and polls may come from the public base URL (a proxy)
            parts = urlsplit(public_url)
            media += f" {parts.scheme}://{parts.netloc}"
        self.playground_csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' blob: data:; media-src {media}; connect-src {media}; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        # Swagger UI's page starts itself with an inline script and inline styles.
        self.docs_csp = (
            "default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = None
        if path == "/" or path.startswith("/playground/"):
            csp = self.playground_csp
        elif path == "/docs" or path.startswith(f"{DOCS_ASSETS}/"):
            csp = self.docs_csp
        extra = [(b"x-content-type-options", b"nosniff")]
        if csp:
            extra += [(b"content-security-policy", csp.encode()), (b"x-frame-options", b"DENY"),
                      (b"referrer-policy", b"no-referrer")]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_submit_route(app: FastAPI, service: Service, model: str,
                      request_model: type[AvatarRequest]) -> None:
    schema = {"requestBody": {"required": True, "content": {
        "application/json": {"schema": request_model.model_json_schema()}}}}

    @app.post(f"/api/v3/{model}", response_model=Envelope, responses=ERRORS,
              openapi_extra=schema, name=f"submit {model}", summary=f"Submit a {model} task")
    async def submit(request: Request, authorization: Auth = None,
                     webhook: Annotated[str | None, Query(
                         description="URL that receives the final result by POST")] = None,
                     ) -> Envelope:
        owner = service.owner(authorization, _client(request))
        service.admit_submission(owner)
        settings = service.settings
        limit = 2 * (settings.max_image_bytes + settings.max_audio_bytes) + 2**20
        service.check_free_space()  # 507 before reading a body the disk cannot hold
        body = await read_body(request, limit, spool_dir=service.spool_dir)
        try:
            decoded = await run_in_threadpool(parse_json, body)  # never in the event loop
        finally:
            body.close()
        parsed = parse_request(request_model, decoded)
        options = to_options(parsed, prompt_policy=settings.prompt_policy)
        if webhook:
            await run_in_threadpool(_check_webhook, service, webhook)
        loaded = await asyncio.gather(
            run_in_threadpool(service.load_input, parsed.image, field="image",
                              max_bytes=settings.max_image_bytes),
            run_in_threadpool(service.load_input, parsed.audio, field="audio",
                              max_bytes=settings.max_audio_bytes), return_exceptions=True)
        for outcome in loaded:  # report the image's problem first, whichever finished first
            if isinstance(outcome, BaseException):
                raise outcome
        image, audio = (outcome for outcome in loaded if isinstance(outcome, bytes))
        check_image_format(image)
        # 422 now, not a failed job later, for a picture with no face and no mouth box.
        await run_in_threadpool(check_animatable, image, Options.from_dict(options))
        echo = {k: v for k, v in decoded.items() if k not in ("image", "audio")}
        echo |= {k: v if is_url(v) else f"<base64, {n} bytes>"
                 for k, v, n in (("image", parsed.image, len(image)),
                                 ("audio", parsed.audio, len(audio)))}
        base = (settings.public_url or str(request.base_url)).rstrip("/")
        job = service.new_job(model=model, owner=owner, options=options, echo=echo,
                              base64_output=parsed.enable_base64_output, webhook=webhook,
                              base_url=base)
        await run_in_threadpool(service.runner.submit, job, image, audio)
        return Envelope(data=service.present(job))


#: A request body is kept in memory up to this size, and spooled to disk beyond it.
SPOOL_IN_MEMORY = 1 << 20


async def read_body(request: Request, limit: int, *,
                    spool_dir: Path) -> SpooledTemporaryFile[bytes]:
    """The request body in a spooled file, refused (413) past ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before any byte is read;
    a chunked body is counted as it arrives and refused as soon as it passes the
    limit. Beyond ``SPOOL_IN_MEMORY`` the bytes go to an unnamed file in
    ``spool_dir``, so oversized bodies never take memory.
    """
    too_large = FileTooLargeError(f"the request body is over the {limit / 2**20:.0f} MB limit "
                                  "(image and audio limits, base64-encoded)")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()) or len(declared) > 15:
            raise RequestError("malformed Content-Length header")
        if int(declared) > limit:
            raise too_large
    spool = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=str(spool_dir))  # noqa: SIM115 (caller closes)
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            spool.write(chunk)
    except BaseException as exc:
        spool.close()
        if is_disk_full(exc):
            raise InsufficientStorageError("the server's disk is full; try again later") \
                from exc
        raise
    spool.seek(0)
    return spool


def parse_json(body: SpooledTemporaryFile[bytes]) -> Any:
    """Decode a JSON body; RequestError (400) for anything that is not valid JSON."""
    try:
        return json.loads(body.read())
    except RecursionError:
        raise RequestError("the request body is not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # bad JSON, bad UTF-8, an integer of over 4300 digits
        raise RequestError(f"the request body is not valid JSON ({exc})") from None


def _client(request: Request) -> str:
    """The client's address (behind a proxy: the proxy's), for failed-key throttling."""
    return request.client.host if request.client else "unknown"


def _check_webhook(service: Service, url: str) -> None:
    target = check_url(url, "webhook")
    host = target.host.decode("ascii")
    try:
        service.policy.resolve(host, target.port or (443 if target.scheme == b"https" else 80))
    except FetchError as exc:
        raise type(exc)(f"webhook: {exc.message}") from exc


def _add_error_handlers(app: FastAPI) -> None:
    def answer(status: int, message: str, code: str) -> JSONResponse:
        body = ErrorEnvelope(code=status, message=message, error_code=code)
        return JSONResponse(body.model_dump(), status_code=status)

    @app.exception_handler(TalkingHeadError)
    async def talkinghead_error(_request: Request, exc: TalkingHeadError) -> JSONResponse:
        response = answer(exc.http_status, exc.message, exc.code)
        if isinstance(exc, RateLimitedError):
            response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return response

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return answer(exc.status_code, str(exc.detail), "http_error")

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette re-raises the exception after this answer, so uvicorn logs its traceback.
        return answer(500, "internal server error; the server's log has the details",
                      "internal_error")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return answer(400, problems, "invalid_request")
