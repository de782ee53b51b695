"""Per-session conversation memory: bounded LRU with a TTL, in process, never shared.

Each `session_id` gets its own `SessionState` (recent turns and the conversation's focus: the
objects and columns last talked about, for follow-ups such as "and what breaks if it
changes?"). Sessions are evicted least-recently-used beyond `max_sessions` and expire after
`ttl_s` of inactivity; `delete()` forgets one at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from finlineage.chat.evidence import Focus

__all__ = ["SessionMemory", "SessionState"]


@dataclass
class SessionState:
    project_id: int | None = None
    turns: list[tuple[str, str]] = field(default_factory=list)
    focus: Focus | None = None
    touched: float = field(default_factory=time.monotonic)


class SessionMemory:
    def __init__(self, max_sessions: int = 1000, ttl_s: float = 3600.0, max_turns: int = 12) -> None:
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self.max_turns = max_turns
        self._items: OrderedDict[str, SessionState] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        stale = [k for k, v in self._items.items() if now - v.touched > self.ttl_s]
        for k in stale:
            del self._items[k]

    def get(self, session_id: str | None, project_id: int | None = None) -> SessionState | None:
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            state = self._items.get(session_id)
            if state is None:
                return None
            if project_id is not None and state.project_id not in (None, project_id):
                return None
            self._items.move_to_end(session_id)
            state.touched = now
            return state

    def record(
        self, session_id: str | None, project_id: int | None, question: str, answer: str, focus: Focus | None
    ) -> None:
        if not session_id:
            return
        now = time.monotonic()
        with self._lock:
            state = self._items.get(session_id)
            if state is None or (project_id is not None and state.project_id not in (None, project_id)):
                state = SessionState(project_id=project_id)
                self._items[session_id] = state
            state.turns.append(("user", question))
            state.turns.append(("assistant", answer))
            del state.turns[: max(0, len(state.turns) - self.max_turns)]
            if focus is not None and (focus.objects or focus.columns):
                state.focus = focus
            elif focus is not None and state.focus is not None:
                state.focus.intent = focus.intent or state.focus.intent
            state.touched = now
            self._items.move_to_end(session_id)
            while len(self._items) > self.max_sessions:
                self._items.popitem(last=False)

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._items.pop(session_id, None) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
