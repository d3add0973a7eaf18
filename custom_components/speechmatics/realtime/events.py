"""What a session hands out: frozen events, one for each server message a caller sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AttachesTo(StrEnum):
    """How a punctuation mark joins its neighbours."""

    NONE = "none"
    PREVIOUS = "previous"
    NEXT = "next"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class ResultItem:
    """One word, punctuation mark or entity of a transcript."""

    content: str
    type: str = "word"
    attaches_to: AttachesTo = AttachesTo.NONE
    start_time: float = 0.0
    end_time: float = 0.0
    confidence: float | None = None
    is_eos: bool = False


@dataclass(frozen=True, slots=True)
class RecognitionStarted:
    """The session has started: audio may flow."""

    session_id: str | None
    word_delimiter: str
    language_pack_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PartialTranscript:
    """The current not-yet-final tail of the transcript; it may still change.

    text_so_far is the whole transcript as of this message: finals and this tail.
    """

    text: str
    results: tuple[ResultItem, ...]
    start_time: float
    end_time: float
    text_so_far: str


@dataclass(frozen=True, slots=True)
class FinalTranscript:
    """A final segment of the transcript; it never changes.

    text_so_far is the whole transcript as of this message.
    """

    text: str
    results: tuple[ResultItem, ...]
    start_time: float
    end_time: float
    text_so_far: str


@dataclass(frozen=True, slots=True)
class EndOfUtterance:
    """The speaker paused (or the client forced the end of an utterance)."""

    start_time: float
    end_time: float


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """An Info message: the service tells the client something."""

    type: str
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ServerWarning:
    """A Warning message: something the client should know; the session goes on."""

    type: str
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EndOfTranscript:
    """The service has sent every final: the session is complete."""

    transcript: str


class TurnEnd(StrEnum):
    """What ended the speaker's turn."""

    END_OF_UTTERANCE = "end_of_utterance"
    NO_SPEECH = "no_speech"
    MAX_LENGTH = "max_length"


@dataclass(frozen=True, slots=True)
class EndOfTurn:
    """The speaker's turn is over: its transcript is final and no more audio is sent.

    The session finishes in the background (EndOfStream, EndOfTranscript, close).
    """

    transcript: str
    reason: TurnEnd


type RealtimeEvent = (
    RecognitionStarted
    | PartialTranscript
    | FinalTranscript
    | EndOfUtterance
    | ServerInfo
    | ServerWarning
    | EndOfTranscript
    | EndOfTurn
)
