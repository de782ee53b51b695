"""Real-time layer: event hub (in-process or Redis pub/sub), dashboard WebSockets, activity log,
server lifecycle (admin restart).

Other layers publish through the hub, looked up at call time::

    events = ctx.services.get("events")
    if events is not None:
        events.publish("ingestion_complete", {...}, project_id=pid)   # thread-safe, never raises

See `finlineage.realtime.hub` for the full publishing API and `finlineage.realtime.events` for
the message types and their fields.
"""

from __future__ import annotations

from typing import Any


def starter(app: Any, ctx: object):  # type: ignore[no-untyped-def]
    """STARTERS hook: opens hub, Redis bridge, activity writer and stats ticker for the app's life."""
    from finlineage.realtime.service import realtime_starter

    return realtime_starter(app, ctx)
