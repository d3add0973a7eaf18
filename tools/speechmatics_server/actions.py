"""The faults a test can script into a session: triggers and the actions run at them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Close codes the service uses after an Error of each type (see PROTOCOL.md).
ERROR_CLOSE_CODES: dict[str, int] = {
    "not_authorised": 4001,
    "not_allowed": 4003,
    "invalid_model": 4004,
    "quota_exceeded": 4005,
    "timelimit_exceeded": 4006,
    "job_error": 4013,
    "protocol_error": 1003,
    "idle_timeout": 1008,
    "session_timeout": 1008,
    "unknown_error": 1011,
}


class Trigger(StrEnum):
    """Points of a session where scripted actions run."""

    CONNECTED = "connected"
    START = "start"
    STARTED = "started"
    END_OF_STREAM = "end_of_stream"

    @staticmethod
    def frame(number: int) -> str:
        """Return the trigger after the given audio frame (1-based) was acknowledged."""
        return f"frame:{number}"


@dataclass(frozen=True)
class SendJson:
    """Send a JSON message."""

    message: dict[str, Any]


@dataclass(frozen=True)
class SendText:
    """Send a raw text frame: malformed JSON, or bytes that are not UTF-8 at all."""

    text: str | bytes


@dataclass(frozen=True)
class SendBinary:
    """Send a binary frame, which the service never does."""

    data: bytes = b"\x00\x01"


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with a close code."""

    code: int = 1000


@dataclass(frozen=True)
class Drop:
    """Cut the TCP connection without a close frame."""


@dataclass(frozen=True)
class Stall:
    """Stop answering: read what the client sends, never reply again."""


@dataclass(frozen=True)
class Ping:
    """Send a WebSocket ping; the client must answer with a pong."""


@dataclass(frozen=True)
class Notify:
    """Set an event, so a test knows the session got this far."""

    event: asyncio.Event


@dataclass(frozen=True)
class Hold:
    """Wait until a test sets an event before going on (at most `timeout` seconds)."""

    event: asyncio.Event
    timeout: float = 10.0


@dataclass(frozen=True)
class Delay:
    """Wait before going on."""

    seconds: float


type Action = (
    SendJson
    | SendText
    | SendBinary
    | Close
    | Drop
    | Stall
    | Ping
    | Notify
    | Hold
    | Delay
)


def error(error_type: str, reason: str = "injected by the test") -> list[Action]:
    """Return the actions of the service ending a session with an Error."""
    actions: list[Action] = [
        SendJson({"message": "Error", "type": error_type, "reason": reason})
    ]
    if (code := ERROR_CLOSE_CODES.get(error_type)) is not None:
        actions.append(Close(code))
    else:
        actions.append(Close(1000))
    return actions
