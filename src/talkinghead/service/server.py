"""Run the service with uvicorn (``talkinghead serve``)."""

from __future__ import annotations

import logging

from talkinghead.service.settings import Settings


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted. One server process; ``settings.workers`` render processes."""
    import uvicorn

    from talkinghead.service.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info",
                timeout_graceful_shutdown=10)
