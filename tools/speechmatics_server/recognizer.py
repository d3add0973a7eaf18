"""Recognizers behind the fake server, and the transcript messages they produce."""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Any, Protocol

_TOKEN = re.compile(r"[\w'$%-]+|[^\w\s]")
_PUNCTUATION_BEFORE_NEXT = frozenset({"¿", "¡", "(", "“"})


@dataclass(frozen=True, slots=True)
class Token:
    """A word or punctuation mark of a scripted transcript, with its timing."""

    content: str
    start_time: float
    end_time: float

    @property
    def is_punctuation(self) -> bool:
        """Return whether the token is a punctuation mark."""
        return not any(ch.isalnum() for ch in self.content)


def tokens(text: str, seconds_per_word: float = 0.3) -> list[Token]:
    """Split text into timed words and punctuation marks."""
    result: list[Token] = []
    clock = 0.0
    for content in _TOKEN.findall(text):
        if any(ch.isalnum() for ch in content):
            result.append(Token(content, clock, clock + seconds_per_word))
            clock += seconds_per_word
        else:
            result.append(Token(content, clock, clock))
    return result


def _result(token: Token) -> dict[str, Any]:
    """Return the wire form of one token."""
    if not token.is_punctuation:
        return {
            "type": "word",
            "start_time": token.start_time,
            "end_time": token.end_time,
            "alternatives": [
                {"content": token.content, "confidence": 0.98, "language": "en"}
            ],
        }
    attaches_to = "next" if token.content in _PUNCTUATION_BEFORE_NEXT else "previous"
    return {
        "type": "punctuation",
        "start_time": token.start_time,
        "end_time": token.end_time,
        "attaches_to": attaches_to,
        "is_eos": token.content in {".", "?", "!"},
        "alternatives": [
            {"content": token.content, "confidence": 1.0, "language": "en"}
        ],
    }


def transcript_message(
    segment: list[Token],
    delimiter: str = " ",
    start_time: float = 0.0,
    *,
    final: bool,
) -> dict[str, Any]:
    """Return an AddTranscript (final) or AddPartialTranscript message for tokens."""
    text = ""
    for token in segment:
        if text and not token.is_punctuation:
            text += delimiter
        text += token.content
    end_time = segment[-1].end_time if segment else start_time
    return {
        "message": "AddTranscript" if final else "AddPartialTranscript",
        "format": "2.9",
        "metadata": {
            "start_time": segment[0].start_time if segment else start_time,
            "end_time": end_time,
            # Like the service: a final's transcript ends with a space, unless it is
            # punctuation only.
            "transcript": text
            + (" " if final and text and not segment[-1].is_punctuation else ""),
        },
        "results": [_result(token) for token in segment],
    }


class UnsupportedInput(Exception):
    """A recognizer cannot take a session's audio or configuration: the service's Error."""

    def __init__(self, error_type: str, reason: str) -> None:
        """Keep the Error's type and reason."""
        super().__init__(reason)
        self.error_type = error_type
        self.reason = reason


class Recognizer(Protocol):
    """Turns audio into transcript messages; one instance per session."""

    word_delimiter: str

    def feed(self, audio: bytes) -> list[dict[str, Any]]:
        """Take one audio frame; return the messages it produces."""

    def finish_utterance(self) -> list[dict[str, Any]]:
        """Finalise what was heard so far (ForceEndOfUtterance)."""

    def finish(self) -> list[dict[str, Any]]:
        """Take the end of the stream; return the remaining finals."""


class ScriptedRecognizer:
    """Reveals a scripted transcript as audio arrives, like a streaming recognizer.

    Every `bytes_per_word` of audio reveals one more word (with the punctuation after it).
    While words are pending it sends partials of the not-yet-final tail; every
    `final_every` words it sends them as a final. At the end of the stream everything
    left is final. With `end_of_utterance` (the session's silence trigger, in seconds
    of 16 kHz audio) the words left are final that long after the last one, followed
    by EndOfUtterance, as the service does. Options add the service's oddities: a
    punctuation mark as a final of its own, and empty partials and finals.
    """

    def __init__(
        self,
        transcript: str,
        *,
        bytes_per_word: int = 9600,
        final_every: int = 3,
        partials: bool = True,
        word_delimiter: str = " ",
        punctuation_own_final: bool = False,
        empty_messages: bool = False,
        end_of_utterance: float = 0.0,
    ) -> None:
        """Script what the recognizer will hear."""
        self.word_delimiter = word_delimiter
        self._tokens = tokens(transcript)
        self._bytes_per_word = bytes_per_word
        self._final_every = final_every
        self._partials = partials
        self._punctuation_own_final = punctuation_own_final
        self._empty_messages = empty_messages
        self._end_of_utterance = round(end_of_utterance * 32000)
        self._paused = False
        self._audio = 0
        self._revealed = 0
        self._final = 0

    def _reveal_to(self, words: int) -> int:
        """Return the token index after the given number of words and their punctuation."""
        index, seen = 0, 0
        while index < len(self._tokens) and (
            seen < words or self._tokens[index].is_punctuation
        ):
            if not self._tokens[index].is_punctuation:
                seen += 1
            index += 1
        return index

    def _finals(self, end: int) -> list[dict[str, Any]]:
        """Return final messages for the tokens up to end."""
        segment = self._tokens[self._final : end]
        self._final = end
        if not segment:
            return []
        if (
            self._punctuation_own_final
            and segment[-1].is_punctuation
            and len(segment) > 1
        ):
            return [
                transcript_message(segment[:-1], self.word_delimiter, final=True),
                transcript_message(segment[-1:], self.word_delimiter, final=True),
            ]
        return [transcript_message(segment, self.word_delimiter, final=True)]

    def feed(self, audio: bytes) -> list[dict[str, Any]]:
        """Reveal the words this much audio holds."""
        self._audio += len(audio)
        revealed = self._reveal_to(self._audio // self._bytes_per_word)
        if revealed == self._revealed:
            return self._pause()
        self._revealed = revealed
        out: list[dict[str, Any]] = []
        pending_words = sum(
            not token.is_punctuation for token in self._tokens[self._final : revealed]
        )
        if pending_words >= self._final_every:
            out.extend(self._finals(revealed))
            if self._empty_messages:
                out.append(transcript_message([], self.word_delimiter, final=True))
        if self._partials:
            tail = self._tokens[self._final : revealed]
            out.append(transcript_message(tail, self.word_delimiter, final=False))
            if self._empty_messages:
                out.append(transcript_message([], self.word_delimiter, final=False))
        out.extend(self._pause())
        return out

    def _pause(self) -> list[dict[str, Any]]:
        """Return the last final and EndOfUtterance once silence follows the script."""
        if self._paused or not self._end_of_utterance or not self._tokens:
            return []
        spoken = sum(not token.is_punctuation for token in self._tokens)
        if self._audio - spoken * self._bytes_per_word < self._end_of_utterance:
            return []
        self._paused = True
        end = self._tokens[-1].end_time
        return [
            *self._finals(len(self._tokens)),
            {
                "message": "EndOfUtterance",
                "metadata": {"start_time": end, "end_time": end},
            },
        ]

    def finish_utterance(self) -> list[dict[str, Any]]:
        """Finalise the words revealed so far."""
        return self._finals(self._revealed)

    def finish(self) -> list[dict[str, Any]]:
        """Finalise the whole script."""
        self._revealed = len(self._tokens)
        return self._finals(len(self._tokens))


def encode_words(words: list[int], bytes_per_word: int = 9600) -> bytes:
    """Return audio in which each word is a block of bytes holding its vocabulary index."""
    return b"".join(bytes([index]) * bytes_per_word for index in words)


class EncodedRecognizer(ScriptedRecognizer):
    """Hears the words encoded in the audio by `encode_words`.

    Each session's transcript comes from its own audio, so concurrent sessions prove
    that no audio or transcript crosses from one session to another.
    """

    def __init__(
        self, vocabulary: list[str], *, bytes_per_word: int = 9600, **options: Any
    ) -> None:
        """Know the vocabulary the audio indexes."""
        super().__init__("", bytes_per_word=bytes_per_word, **options)
        self._vocabulary = vocabulary
        self._block = bytearray()
        self._clock = 0.0

    def feed(self, audio: bytes) -> list[dict[str, Any]]:
        """Decode whole words, then reveal them like the scripted recognizer."""
        self._block += audio
        size = self._bytes_per_word
        while len(self._block) >= size:
            word = self._vocabulary[self._block[0] % len(self._vocabulary)]
            del self._block[:size]
            self._tokens.append(Token(word, self._clock, self._clock + 0.3))
            self._clock += 0.3
        return super().feed(audio)
