"""The HTTP service: hosted-API-compatible routes, jobs, webhooks, playground.

Needs the ``service`` extra (FastAPI, uvicorn, httpcore, onnxruntime, nudenet).
"""

from talkinghead.service.settings import Settings


def create_app(settings: Settings):  # type: ignore[no-untyped-def]
    """The ASGI app (imports FastAPI only when called)."""
    from talkinghead.service.app import create_app as _create_app

    return _create_app(settings)


__all__ = ["Settings", "create_app"]
