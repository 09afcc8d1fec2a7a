"""Run the service with uvicorn (``talkinghead serve``)."""

from __future__ import annotations

import logging

from talkinghead.service.connections import ConnectionGuard, connection_cap, install
from talkinghead.service.errors import UnavailableError
from talkinghead.service.settings import Settings


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted. One server process; ``settings.workers`` render processes.

    Raises UnavailableError before listening when a configured broker is unreachable.
    """
    import uvicorn

    from talkinghead.service.app import create_app

    if settings.broker_url:
        check_broker(settings.broker_url)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    guard = ConnectionGuard(header_timeout_s=settings.header_timeout_s,
                            max_connections=connection_cap(settings.max_connections))
    # No limit_concurrency: uvicorn counts idle sockets towards it and would answer 503
    # to every request while they are held; the guard sheds those sockets instead.
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="info",
                            timeout_graceful_shutdown=10, timeout_keep_alive=settings.keepalive_s,
                            **install(guard))
    uvicorn.Server(config).run()


def check_broker(url: str, *, timeout_s: float = 3.0) -> None:
    """Raise UnavailableError, naming the host but no password, if Redis does not answer."""
    import redis

    from talkinghead.service.fleet_runner import safe_location

    try:
        redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s).ping()
    except redis.RedisError as exc:
        raise UnavailableError(
            f"cannot reach the fleet's Redis at {safe_location(url)} ({exc}); start it, or "
            "unset TALKINGHEAD_BROKER_URL to render in this process"
        ) from exc
