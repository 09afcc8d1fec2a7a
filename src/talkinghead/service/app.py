"""HTTP routes, compatible with the hosted avatar API. Errors map to HTTP in one handler."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from talkinghead import __version__
from talkinghead.errors import FileTooLargeError, TalkingHeadError
from talkinghead.service.core import Service
from talkinghead.service.errors import FetchError, NotFoundError, RequestError
from talkinghead.service.fetch import check_image_format, check_url, is_url
from talkinghead.service.schemas import (
    MODEL_V1,
    MODEL_V15,
    Avatar15Request,
    AvatarRequest,
    Envelope,
    ErrorEnvelope,
    parse_request,
    to_options,
)
from talkinghead.service.settings import Settings

PLAYGROUND = Path(__file__).parent / "playground"
Auth = Annotated[str | None, Header(alias="Authorization", description="Bearer <API key>")]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorEnvelope} for code in (400, 401, 404, 413, 415, 422, 429)}


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
                  description="Portrait + audio -> talking MP4, compatible with the hosted "
                              "avatar API. See docs/SERVICE.md.")
    app.state.service = service
    _add_error_handlers(app)
    _add_routes(app, service)
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
    async def result(job_id: str, authorization: Auth = None) -> Envelope:
        """Poll a task: created -> processing -> completed | failed."""
        owner = service.keys.owner(authorization)
        job = service.store.get(job_id)
        if job is None or job.owner != owner:
            raise NotFoundError(f"no prediction {job_id!r} (unknown, or expired and deleted)")
        return Envelope(data=await run_in_threadpool(service.present, job))

    @app.get("/files/{job_id}.mp4", responses=ERRORS, response_class=FileResponse)
    async def output_file(job_id: str, authorization: Auth = None,
                          expires: str | None = None, sig: str | None = None) -> FileResponse:
        """The rendered MP4: needs the signed query of ``outputs`` or an API key."""
        path = f"/files/{job_id}.mp4"
        if not service.signer.check(path, expires, sig):
            owner = service.keys.owner(authorization)
            job = service.store.get(job_id)
            if job is None or job.owner != owner:
                raise NotFoundError(f"no output for {job_id!r}")
        file = service.runner.paths.output(job_id)
        if not job_id.isalnum() or not file.is_file():
            raise NotFoundError(f"no output for {job_id!r} (not finished, or expired)")
        return FileResponse(file, media_type="video/mp4", filename=f"{job_id}.mp4")

    @app.get("/api/v3/webhook/secret")
    async def webhook_secret(authorization: Auth = None) -> dict[str, Any]:
        """The secret that signs webhooks (HMAC-SHA256 key: the part after ``whsec_``)."""
        service.keys.owner(authorization)
        return {"code": 200, "message": "success", "data": {"secret": service.webhook_secret}}

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness and queue depth (no key needed)."""
        from talkinghead.service.jobs import JobStatus

        store = service.store
        return {"status": "ok", "version": __version__, "workers": service.settings.workers,
                "queued": store.count(JobStatus.CREATED),
                "processing": store.count(JobStatus.PROCESSING)}


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
        owner = service.keys.owner(authorization)
        settings = service.settings
        limit = 2 * (settings.max_image_bytes + settings.max_audio_bytes) + 2**20
        body = await request.body()
        if len(body) > limit:
            raise FileTooLargeError(f"the request body is over {limit / 2**20:.0f} MB")
        try:
            decoded = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(f"the request body is not valid JSON ({exc})") from None
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


def _check_webhook(service: Service, url: str) -> None:
    target = check_url(url, "webhook")
    host = urlsplit(url).hostname or ""
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
        return answer(exc.http_status, exc.message, exc.code)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return answer(exc.status_code, str(exc.detail), "http_error")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return answer(400, problems, "invalid_request")
