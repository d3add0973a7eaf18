"""A Speechmatics Realtime protocol server for tests and development tools.

It speaks the protocol as the service does (the Bearer key, StartRecognition checked,
Info before RecognitionStarted, acknowledgements, partials and finals, Error messages
with their close codes), with faults that tests script per trigger (`actions`). The
recognizer behind it is pluggable: a scripted one for tests, PocketSphinx for the
local engine.
"""

from .actions import (
    ERROR_CLOSE_CODES,
    Action,
    Close,
    Delay,
    Drop,
    Hold,
    Notify,
    Ping,
    SendBinary,
    SendJson,
    SendText,
    Stall,
    Trigger,
    error,
)
from .recognizer import (
    EncodedRecognizer,
    Recognizer,
    ScriptedRecognizer,
    UnsupportedInput,
    encode_words,
    tokens,
    transcript_message,
)
from .server import RealtimeServer, SessionRecord, scripted
from .validation import validate_start

__all__ = [
    "ERROR_CLOSE_CODES",
    "Action",
    "Close",
    "Delay",
    "Drop",
    "EncodedRecognizer",
    "Hold",
    "Notify",
    "Ping",
    "RealtimeServer",
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
    "error",
    "scripted",
    "tokens",
    "transcript_message",
    "validate_start",
]
