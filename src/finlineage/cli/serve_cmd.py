"""`finlineage serve`: run the API + dashboard with uvicorn."""

from __future__ import annotations

import os

import typer

from finlineage.settings import LOOPBACK_HOSTS, Settings


def serve(
    host: str = typer.Option(None, help="Bind address (default from FINLINEAGE_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default from FINLINEAGE_PORT, 8000)."),
    workers: int = typer.Option(None, help="Worker processes (default from FINLINEAGE_WORKERS, 1)."),
    insecure: bool = typer.Option(False, "--insecure", help="Allow auth off on a non-loopback address."),
) -> None:
    """Serve the REST API, WebSocket and dashboard."""
    import uvicorn

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    if settings.auth == "off" and host not in LOOPBACK_HOSTS and not insecure:
        typer.echo(
            f"refusing to serve on {host} with FINLINEAGE_AUTH=off: anyone on the network could read and "
            "change the lineage. Turn auth on, bind to 127.0.0.1, or pass --insecure.",
            err=True,
        )
        raise typer.Exit(2)
    # Workers are separate processes: they rebuild Settings from the environment.
    os.environ["FINLINEAGE_HOST"] = host
    os.environ["FINLINEAGE_PORT"] = str(port)
    if insecure and settings.auth == "off":
        os.environ["FINLINEAGE_AUTH"] = "off"
    settings.ensure_dirs()
    # POST /admin/restart signals this process (whichever worker took the request), leaves a
    # marker, and uvicorn shuts down gracefully; then we exit 0 for a supervisor or re-exec.
    from finlineage.realtime import lifecycle

    os.environ[lifecycle.SERVE_PID_ENV] = str(os.getpid())
    lifecycle.clear_restart_marker(settings)
    lifecycle.install_restart_signal_guard(settings)
    sock = lifecycle.listening_socket(host, port)
    config = uvicorn.Config(
        "finlineage.api.asgi:create_from_env",
        factory=True,
        workers=workers if workers > 1 else None,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        timeout_graceful_shutdown=int(settings.restart_grace_s),
        timeout_keep_alive=max(1, round(settings.http_keep_alive_s)),
        ws_ping_interval=settings.websocket_ping_interval_s,
        ws_ping_timeout=settings.websocket_ping_interval_s,
        ws_per_message_deflate=settings.websocket_per_message_deflate,
    )
    server = uvicorn.Server(config)
    # Re-exec restarts: uvicorn gets a duplicate of the listening socket and closes only that one
    # when it stops, so the socket stays open across the re-exec and new connections wait in its
    # backlog for the next process instead of being refused. Under a supervisor (exit 0) uvicorn
    # owns the socket: it closes when uvicorn stops accepting, so a proxy retries elsewhere at once.
    handover = lifecycle.restart_action(settings) == "reexec"
    listener = sock.dup() if handover else sock
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[listener]).run()
    else:
        if handover:
            lifecycle.set_stop_accepting(
                lambda: [listening.close() for listening in getattr(server, "servers", [])]
            )
        server.run(sockets=[listener])
    if lifecycle.consume_restart_marker(settings) is not None:
        if lifecycle.restart_action(settings) == "exit":
            typer.echo("restart requested: exiting 0 for the supervisor to start a fresh process", err=True)
            raise typer.Exit(0)
        lifecycle.reexec(keep_fd=sock.fileno())
    sock.close()


def register(app: typer.Typer) -> None:
    app.command()(serve)
