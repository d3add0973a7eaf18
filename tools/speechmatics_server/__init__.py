"""A Speechmatics Realtime server for tests and development tools, on 127.0.0.1.

It speaks the real protocol (see ../shared/speechmatics/PROTOCOL.md): the recognizer
behind it is pluggable, a scripted one for tests, a real one for the local engine.
"""

from .recognizer import (
    EncodedRecognizer,
    Recognizer,
    ScriptedRecognizer,
    UnsupportedInput,
    encode_words,
    tokens,
    transcript_message,
)
from .server import (
    Action,
    Close,
    Delay,
    Drop,
    FakeSpeechmatics,
    Hold,
    Notify,
    Ping,
    SendBinary,
    SendJson,
    SendText,
    SessionRecord,
    Stall,
    Trigger,
)

__all__ = [
    "Action",
    "Close",
    "Delay",
    "Drop",
    "EncodedRecognizer",
    "FakeSpeechmatics",
    "Hold",
    "Notify",
    "Ping",
    "Recognizer",
    "ScriptedRecognizer",
    "SendBinary",
    "SendJson",
    "SendText",
    "SessionRecord",
    "Stall",
    "Trigger",
    "UnsupportedInput",
    "encode_words",
    "tokens",
    "transcript_message",
]
