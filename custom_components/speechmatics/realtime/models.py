"""Typed configuration, wire messages and events of the Speechmatics Realtime protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict

MAX_DELAY_RANGE = (0.7, 4.0)
END_OF_UTTERANCE_RANGE = (0.0, 2.0)
MAX_ADDITIONAL_VOCAB = 1000


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


class AudioEncoding(StrEnum):
    """Raw audio encodings the service accepts."""

    PCM_S16LE = "pcm_s16le"
    PCM_F32LE = "pcm_f32le"
    MULAW = "mulaw"


BYTES_PER_SAMPLE: dict[AudioEncoding, int] = {
    AudioEncoding.PCM_S16LE: 2,
    AudioEncoding.PCM_F32LE: 4,
    AudioEncoding.MULAW: 1,
}


class AttachesTo(StrEnum):
    """How a punctuation mark joins its neighbours."""

    NONE = "none"
    PREVIOUS = "previous"
    NEXT = "next"
    BOTH = "both"


# Wire messages, as they arrive (only the fields the client reads).


class AlternativeMessage(TypedDict):
    """One alternative of a recognition result."""

    content: str
    confidence: NotRequired[float]


class ResultMessage(TypedDict):
    """One word, punctuation mark or entity of a transcript."""

    type: str
    alternatives: NotRequired[list[AlternativeMessage]]
    start_time: NotRequired[float]
    end_time: NotRequired[float]
    attaches_to: NotRequired[str]
    is_eos: NotRequired[bool]


# Configuration, as the caller gives it.


@dataclass(frozen=True, slots=True)
class AdditionalVocab:
    """A word or phrase to add to the recognizer, with optional sounds-like spellings."""

    content: str
    sounds_like: tuple[str, ...] = ()

    def as_message(self) -> str | dict[str, Any]:
        """Return the wire form: a plain string when there are no spellings."""
        if not self.sounds_like:
            return self.content
        return {"content": self.content, "sounds_like": list(self.sounds_like)}


@dataclass(frozen=True, slots=True)
class TranscriptionConfig:
    """The transcription_config of a StartRecognition; None leaves the service default."""

    language: str
    model: str | None = None
    max_delay: float | None = None
    max_delay_mode: Literal["flexible", "fixed"] | None = None
    enable_partials: bool = False
    enable_entities: bool | None = None
    output_locale: str | None = None
    domain: str | None = None
    additional_vocab: tuple[AdditionalVocab, ...] = ()
    end_of_utterance_silence_trigger: float | None = None

    def __post_init__(self) -> None:
        """Refuse values the service would reject, with a clear message."""
        if not self.language:
            msg = "language is required"
            raise ValueError(msg)
        if self.max_delay is not None and not (
            MAX_DELAY_RANGE[0] <= self.max_delay <= MAX_DELAY_RANGE[1]
        ):
            msg = f"max_delay must be between {MAX_DELAY_RANGE[0]} and {MAX_DELAY_RANGE[1]} s"
            raise ValueError(msg)
        trigger = self.end_of_utterance_silence_trigger
        if trigger is not None and not (
            END_OF_UTTERANCE_RANGE[0] <= trigger <= END_OF_UTTERANCE_RANGE[1]
        ):
            msg = "end_of_utterance_silence_trigger must be between 0 and 2 s"
            raise ValueError(msg)
        if len(self.additional_vocab) > MAX_ADDITIONAL_VOCAB:
            msg = f"additional_vocab holds at most {MAX_ADDITIONAL_VOCAB} entries"
            raise ValueError(msg)
        if any(not vocab.content.strip() for vocab in self.additional_vocab):
            msg = "additional_vocab entries must not be empty"
            raise ValueError(msg)

    def as_message(self) -> dict[str, Any]:
        """Return the wire form, leaving out what is not set."""
        config: dict[str, Any] = {"language": self.language}
        optional = {
            "model": self.model,
            "max_delay": self.max_delay,
            "max_delay_mode": self.max_delay_mode,
            "enable_entities": self.enable_entities,
            "output_locale": self.output_locale,
            "domain": self.domain,
        }
        config.update(
            {key: value for key, value in optional.items() if value is not None}
        )
        if self.enable_partials:
            config["enable_partials"] = True
        if self.additional_vocab:
            config["additional_vocab"] = [v.as_message() for v in self.additional_vocab]
        if self.end_of_utterance_silence_trigger is not None:
            config["conversation_config"] = {
                "end_of_utterance_silence_trigger": self.end_of_utterance_silence_trigger
            }
        return config


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """The audio_format of a StartRecognition: raw samples, or a container file."""

    type: Literal["raw", "file"] = "raw"
    encoding: AudioEncoding = AudioEncoding.PCM_S16LE
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        """Refuse a sample rate the service cannot use."""
        if self.type == "raw" and self.sample_rate <= 0:
            msg = "sample_rate must be a positive number of Hz"
            raise ValueError(msg)

    @classmethod
    def file(cls) -> AudioFormat:
        """Return the format for audio in a container (WAV, OGG, MP3, ...)."""
        return cls(type="file")

    @property
    def bytes_per_second(self) -> int | None:
        """Return the byte rate of raw audio, None for files."""
        if self.type == "file":
            return None
        return self.sample_rate * BYTES_PER_SAMPLE[self.encoding]

    @property
    def sample_width(self) -> int:
        """Return the bytes of one sample (1 for files, which have no alignment)."""
        return 1 if self.type == "file" else BYTES_PER_SAMPLE[self.encoding]

    def as_message(self) -> dict[str, Any]:
        """Return the wire form."""
        if self.type == "file":
            return {"type": "file"}
        return {
            "type": "raw",
            "encoding": str(self.encoding),
            "sample_rate": self.sample_rate,
        }


# Events, as the client hands them out.


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

    session_id: str
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


type RealtimeEvent = (
    RecognitionStarted
    | PartialTranscript
    | FinalTranscript
    | EndOfUtterance
    | ServerInfo
    | ServerWarning
    | EndOfTranscript
)
