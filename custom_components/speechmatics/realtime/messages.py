"""Build the client's wire messages and parse the server's, with no I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NotRequired, TypedDict, cast

from orjson import loads as json_loads  # Home Assistant's JSON parser: 3x json's speed

from .config import AudioFormat, TranscriptionConfig
from .errors import InvalidMessage
from .events import AttachesTo, RecognitionStarted, ResultItem


class ClientMessageType(StrEnum):
    """Messages the client sends."""

    START_RECOGNITION = "StartRecognition"
    END_OF_STREAM = "EndOfStream"
    FORCE_END_OF_UTTERANCE = "ForceEndOfUtterance"


class ServerMessageType(StrEnum):
    """Messages the server sends that the client acts on."""

    RECOGNITION_STARTED = "RecognitionStarted"
    AUDIO_ADDED = "AudioAdded"
    ADD_PARTIAL_TRANSCRIPT = "AddPartialTranscript"
    ADD_TRANSCRIPT = "AddTranscript"
    END_OF_UTTERANCE = "EndOfUtterance"
    END_OF_TRANSCRIPT = "EndOfTranscript"
    INFO = "Info"
    WARNING = "Warning"
    ERROR = "Error"


class AlternativeMessage(TypedDict):
    """One alternative of a recognition result, as it arrives."""

    content: str
    confidence: NotRequired[float]


class ResultMessage(TypedDict):
    """One word, punctuation mark or entity of a transcript, as it arrives."""

    type: str
    alternatives: NotRequired[list[AlternativeMessage]]
    start_time: NotRequired[float]
    end_time: NotRequired[float]
    attaches_to: NotRequired[str]
    is_eos: NotRequired[bool]


def decode(text: str) -> dict[str, Any]:
    """Return a server's text frame as a message: a JSON object with a message name."""
    try:
        message = json_loads(text)
    except ValueError as err:
        msg = "the server sent a frame that is not JSON"
        raise InvalidMessage(msg) from err
    if not isinstance(message, dict) or not isinstance(message.get("message"), str):
        msg = "the server sent JSON that is not a message"
        raise InvalidMessage(msg)
    return message


def start_recognition(
    transcription_config: TranscriptionConfig, audio_format: AudioFormat
) -> dict[str, Any]:
    """Return the StartRecognition message."""
    return {
        "message": ClientMessageType.START_RECOGNITION,
        "audio_format": audio_format.as_message(),
        "transcription_config": transcription_config.as_message(),
    }


def end_of_stream(last_seq_no: int) -> dict[str, Any]:
    """Return the EndOfStream message for the given number of audio frames sent."""
    return {"message": ClientMessageType.END_OF_STREAM, "last_seq_no": last_seq_no}


def force_end_of_utterance() -> dict[str, Any]:
    """Return the ForceEndOfUtterance message."""
    return {"message": ClientMessageType.FORCE_END_OF_UTTERANCE}


_NUMBER_TYPES = (int, float)
_ATTACHES_TO = {member.value: member for member in AttachesTo}


def _number(value: object, default: float = 0.0) -> float:
    """Return a JSON number as float, refusing anything else."""
    if value is None:
        return default
    if type(value) is float:  # the usual case, first: results are parsed per message
        return value
    if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
        msg = f"expected a number, got {type(value).__name__}"
        raise InvalidMessage(msg)
    return float(value)


def _result_item(raw: ResultMessage) -> ResultItem:
    """Parse one entry of a transcript's results.

    Written for speed (a final is parsed while EndOfTranscript may be waiting behind
    it): fields by position, unknown attaches_to values read as none.
    """
    alternatives = raw.get("alternatives")
    best: dict[str, Any] = (
        cast("dict[str, Any]", alternatives[0]) if alternatives else {}
    )
    content = best.get("content", "")
    if not isinstance(content, str):
        msg = "result content is not a string"
        raise InvalidMessage(msg)
    attaches_to = raw.get("attaches_to")
    confidence = best.get("confidence")
    return ResultItem(
        content,
        str(raw.get("type", "word")),
        _ATTACHES_TO.get(attaches_to, AttachesTo.NONE)
        if isinstance(attaches_to, str)
        else AttachesTo.NONE,
        _number(raw.get("start_time")),
        _number(raw.get("end_time")),
        None if confidence is None else _number(confidence),
        bool(raw.get("is_eos", False)),
    )


def parse_results(message: dict[str, Any]) -> tuple[ResultItem, ...]:
    """Parse the results of an AddTranscript or AddPartialTranscript."""
    results = message.get("results", [])
    if not isinstance(results, list):
        msg = "results is not a list"
        raise InvalidMessage(msg)
    try:
        return tuple([_result_item(raw) for raw in results])
    except (AttributeError, IndexError, KeyError, TypeError) as err:
        msg = f"malformed transcript results: {err}"
        raise InvalidMessage(msg) from err


def parse_times(message: dict[str, Any]) -> tuple[float, float]:
    """Return the start and end time of a message's metadata."""
    metadata = message.get("metadata", {})
    if not isinstance(metadata, dict):
        msg = "metadata is not an object"
        raise InvalidMessage(msg)
    return _number(metadata.get("start_time")), _number(metadata.get("end_time"))


def parse_recognition_started(message: dict[str, Any]) -> RecognitionStarted:
    """Parse RecognitionStarted: the session id and the language pack."""
    info = message.get("language_pack_info", {})
    if not isinstance(info, dict):
        msg = "language_pack_info is not an object"
        raise InvalidMessage(msg)
    delimiter = info.get("word_delimiter", " ")
    if not isinstance(delimiter, str):
        msg = "word_delimiter is not a string"
        raise InvalidMessage(msg)
    session_id = message.get("id")
    return RecognitionStarted(
        session_id=None if session_id in (None, "") else str(session_id),
        word_delimiter=delimiter,
        language_pack_info=info,
    )


def parse_seq_no(message: dict[str, Any]) -> int:
    """Return the seq_no of AudioAdded."""
    seq_no = message.get("seq_no")
    if isinstance(seq_no, bool) or not isinstance(seq_no, int):
        msg = "AudioAdded without an integer seq_no"
        raise InvalidMessage(msg)
    return seq_no


# Longer reasons are cut: they are logged, kept in diagnostics and in repair issues.
MAX_REASON = 300
MAX_TYPE = 60


def _cut(value: object, limit: int) -> str:
    """Return a server's text, or "" for none, cut to a length that can be shown."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def notice_fields(message: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """Return the type, reason and remaining fields of Info, Warning or Error."""
    details = {
        key: value
        for key, value in message.items()
        if key not in {"message", "type", "reason"}
    }
    return (
        _cut(message.get("type"), MAX_TYPE),
        _cut(message.get("reason"), MAX_REASON),
        details,
    )
