"""What a caller configures: the transcription, the audio format and the session's bounds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

MAX_DELAY_RANGE = (0.7, 4.0)
END_OF_UTTERANCE_RANGE = (0.0, 2.0)
MAX_ADDITIONAL_VOCAB = 1000
# The service drops vocabulary entries longer than this (validation_warning).
MAX_VOCAB_WORDS = 6
# Longer than any name a user says (the service states no limit of its own).
MAX_VOCAB_CHARS = 100


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
_FILE_FRAME_BYTES = 8192


@dataclass(frozen=True, slots=True)
class AdditionalVocab:
    """A word or phrase to add to the recognizer, with optional sounds-like spellings."""

    content: str
    sounds_like: tuple[str, ...] = ()

    @classmethod
    def parse(cls, line: str) -> AdditionalVocab | None:
        """Parse `phrase` or `phrase: sounds like, sounds like`; None for a blank line.

        Raise ValueError for a phrase the service would drop (over six words).
        """
        content, _, spellings = line.partition(":")
        if not content.strip():
            return None
        sounds_like = tuple(
            check_phrase(spelling)
            for spelling in spellings.split(",")
            if spelling.strip()
        )
        return cls(check_phrase(content), sounds_like)

    @property
    def line(self) -> str:
        """Return the entry in the `phrase: sounds like, ...` line format."""
        if not self.sounds_like:
            return self.content
        return f"{self.content}: {', '.join(self.sounds_like)}"

    def as_message(self) -> str | dict[str, Any]:
        """Return the wire form: a plain string when there are no spellings."""
        if not self.sounds_like:
            return self.content
        return {"content": self.content, "sounds_like": list(self.sounds_like)}


def check_phrase(text: str) -> str:
    """Return a vocabulary phrase with its spacing collapsed.

    Raise ValueError for no phrase, or one the service would drop or no one says.
    """
    phrase = " ".join(text.split())
    if not phrase:
        msg = "an empty phrase"
        raise ValueError(msg)
    if len(phrase.split()) > MAX_VOCAB_WORDS:
        msg = f"more than {MAX_VOCAB_WORDS} words: {phrase[:MAX_VOCAB_CHARS]}"
        raise ValueError(msg)
    if len(phrase) > MAX_VOCAB_CHARS:
        msg = f"more than {MAX_VOCAB_CHARS} characters: {phrase[:MAX_VOCAB_CHARS]}..."
        raise ValueError(msg)
    return phrase


def parse_vocab(lines: Iterable[str]) -> tuple[AdditionalVocab, ...]:
    """Parse vocabulary lines, skipping blank ones; raise ValueError for a bad list."""
    vocab = tuple(
        entry for line in lines if (entry := AdditionalVocab.parse(line)) is not None
    )
    if len(vocab) > MAX_ADDITIONAL_VOCAB:
        msg = f"{len(vocab)} entries, at most {MAX_ADDITIONAL_VOCAB} are allowed"
        raise ValueError(msg)
    return vocab


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
        """Return the byte rate of raw audio; None for a container file."""
        if self.type == "file":
            return None
        return self.sample_rate * BYTES_PER_SAMPLE[self.encoding]

    def frame_bytes(self, seconds: float) -> int:
        """Return the size of a frame of about that duration, a whole number of samples.

        Container files have no byte rate: their frames have a fixed size.
        """
        if self.type == "file":
            return _FILE_FRAME_BYTES
        width = BYTES_PER_SAMPLE[self.encoding]
        return max(width, round(self.sample_rate * seconds) * width)

    def as_message(self) -> dict[str, Any]:
        """Return the wire form."""
        if self.type == "file":
            return {"type": "file"}
        return {
            "type": "raw",
            "encoding": str(self.encoding),
            "sample_rate": self.sample_rate,
        }


@dataclass(frozen=True, slots=True)
class Turn:
    """A session that ends with the speaker's turn, not only with the audio.

    The turn ends at the first EndOfUtterance after final text (the service sends it
    end_of_utterance_silence_trigger seconds after the last word); with an empty
    transcript once the service has acknowledged no_speech seconds of audio and
    found no word in it; and max_length seconds into the audio the session sends
    ForceEndOfUtterance and ends the turn at the EndOfUtterance that answers it. The
    bounds count audio, not time, so they follow the speaker's clock and hold for a
    source faster than real time (raw audio only: a file has no byte rate).
    """

    no_speech: float = 8.0
    max_length: float = 15.0

    def __post_init__(self) -> None:
        """Refuse bounds that cannot work."""
        if not 0 < self.no_speech <= self.max_length:
            msg = "no_speech must be positive and at most max_length"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Timeouts (seconds) and streaming parameters of a session."""

    connect_timeout: float = 10.0
    # Starting can take up to 15 s with a large additional_vocab.
    start_timeout: float = 20.0
    ack_timeout: float = 10.0
    finish_timeout: float = 10.0
    ping_interval: float = 30.0
    pong_timeout: float = 60.0
    # Writing our close frame can wait on a full send buffer: give up after this.
    close_timeout: float = 2.0
    frame_duration: float = 0.1
    max_unacked_frames: int = 50

    def __post_init__(self) -> None:
        """Refuse values that cannot work."""
        if self.frame_duration <= 0 or self.max_unacked_frames < 1:
            msg = "frame_duration must be positive and max_unacked_frames at least 1"
            raise ValueError(msg)
