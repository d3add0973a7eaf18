"""PocketSphinx behind the protocol server: the local engine's real, offline recognizer.

US English only, from the acoustic model, dictionary and language model inside the
`pocketsphinx` wheel. With `additional_vocab` in StartRecognition, each session gets a
grammar of common Home Assistant command phrasings over those names (a few percent word
errors on clear speech); without it, PocketSphinx's general language model (poor on
synthetic speech). A development stand-in, not a replacement for Speechmatics.
"""

from __future__ import annotations

from collections.abc import Iterable
import functools
import logging
from pathlib import Path
import re
import tempfile
from typing import Any

import numpy as np
from pocketsphinx import Config, Decoder, Endpointer, Vad, get_model_path

from .recognizer import Token, UnsupportedInput, transcript_message

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# Silence that ends an utterance when the session sets no end_of_utterance trigger.
_UTTERANCE_PAUSE = 0.8
# PocketSphinx's default frame rate: segment times are counted in these.
_FRAMES_PER_SECOND = 100
# Gaussians scored per frame (PocketSphinx's default is 4): on the test commands, 16
# gets 55 of 60 right where 4 gets 51, for 10.8 % of real time instead of 8 %.
_TOP_GAUSSIANS = 16
# A microphone always hears some noise, and the acoustic model expects it. Chromium's
# noise suppression (on for every browser user) leaves digital silence and spectral
# holes instead, where the model mistakes words ("turn on the desk" for the desk lamp,
# "turn on" for "turn off"). Noise at this level (a standard deviation in 16-bit
# samples, about -54 dBFS) masks them: the browser test's commands come back 6 of 6
# instead of 4, the espeak-ng voices' stay 59 of 60.
_NOISE_FLOOR = 64
# Longer utterances are not decoded a second time (bounds memory and final latency).
_SECOND_PASS_BYTES = 30 * 2 * SAMPLE_RATE

# How people address a home; {name} is a name from additional_vocab, {number} 1 to 100.
PHRASINGS = (
    "turn on the {name}",
    "turn off the {name}",
    "turn the {name} on",
    "turn the {name} off",
    "switch on the {name}",
    "switch off the {name}",
    "toggle the {name}",
    "open the {name}",
    "close the {name}",
    "lock the {name}",
    "unlock the {name}",
    "set the {name} to {number} percent",
    "set the {name} to {number} degrees",
    "set the {name} brightness to {number} percent",
    "dim the {name} to {number} percent",
    "turn on the lights in the {name}",
    "turn off the lights in the {name}",
    "what is the temperature in the {name}",
    "what is the temperature of the {name}",
    "is the {name} on",
    "is the {name} off",
    "is the {name} open",
    "is the {name} locked",
)
# Sentences that name nothing.
SENTENCES = (
    "what time is it",
    "what is the date",
    "what is the weather",
    "what is the temperature",
    "turn on all the lights",
    "turn off all the lights",
    "cancel",
    "never mind",
)
_ONES = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBERS = (
    _ONES
    + _TEENS
    + [f"{tens} {one}".strip() for tens in _TENS for one in ["", *_ONES]]
    + ["one hundred"]
)
_WORD = re.compile(r"[a-z']+")
_QUESTION_WORDS = frozenset({"what", "is", "are", "when", "where", "who", "how"})
_FILLERS = frozenset({"<s>", "</s>", "<sil>", "[NOISE]", "(NULL)"})


@functools.cache
def _model() -> Path:
    """Return the folder of the US English model inside the wheel."""
    return Path(get_model_path()) / "en-us"


@functools.cache
def pronunciations() -> dict[str, list[str]]:
    """Return the CMU dictionary: each word's pronunciations (read once, ~0.2 s)."""
    words: dict[str, list[str]] = {}
    with (_model() / "cmudict-en-us.dict").open(encoding="utf-8") as file:
        for line in file:
            word, _, phones = line.strip().partition(" ")
            words.setdefault(word.split("(", 1)[0], []).append(phones)
    return words


def _words(text: str) -> list[str]:
    """Return the words of a text the way the dictionary spells them."""
    return _WORD.findall(text.lower())


def _pronounce(word: str, sounds_like: Iterable[str]) -> str | None:
    """Return the phones of a word, from the dictionary or from what it sounds like.

    Only the first of the dictionary's pronunciations: its alternates cost more
    recognition errors than they save.
    """
    dictionary = pronunciations()
    if word in dictionary:
        return dictionary[word][0]
    for alternative in sounds_like:
        parts = _words(alternative)
        if parts and all(part in dictionary for part in parts):
            return " ".join(dictionary[part][0] for part in parts)
    return None


def names(additional_vocab: list[Any]) -> tuple[list[str], dict[str, str]]:
    """Return the speakable names of additional_vocab, and the phones of new words.

    A name whose words are not in the dictionary, and whose sounds_like cannot spell
    them either, cannot be recognised: it is left out with a log line.
    """
    spoken: list[str] = []
    new_words: dict[str, str] = {}
    for entry in additional_vocab:
        content = entry if isinstance(entry, str) else entry.get("content", "")
        sounds_like = [] if isinstance(entry, str) else entry.get("sounds_like", [])
        words = _words(content)
        phones = {word: _pronounce(word, sounds_like) for word in words}
        if not words or not all(phones.values()):
            _LOGGER.warning("Cannot pronounce %r: left out of the grammar", content)
            continue
        spoken.append(" ".join(words))
        new_words.update(
            (word, found)
            for word, found in phones.items()
            if word not in pronunciations()
        )
    return spoken, new_words


def grammar(spoken_names: Iterable[str]) -> str:
    """Return a JSGF grammar of the phrasings over the names, and the sentences."""
    alternatives = [
        phrasing.replace("{name}", "<name>").replace("{number}", "<number>")
        for phrasing in PHRASINGS
    ]
    return "\n".join(
        (
            "#JSGF V1.0;",
            "grammar home;",
            "public <command> = "
            + " | ".join(f"( {text} )" for text in [*alternatives, *SENTENCES])
            + ";",
            "<name> = " + " | ".join(sorted(set(spoken_names))) + ";",
            "<number> = " + " | ".join(NUMBERS) + ";",
        )
    )


def _decoder(additional_vocab: list[Any]) -> Decoder:
    """Return a decoder for the session: the home grammar, or the general model."""
    base = {"samprate": SAMPLE_RATE, "topn": _TOP_GAUSSIANS, "loglevel": "FATAL"}
    spoken, new_words = names(additional_vocab)
    if not spoken:
        return Decoder(Config(**base))
    texts = [
        *spoken,
        *SENTENCES,
        *NUMBERS,
        *(p.format(name="", number="") for p in PHRASINGS),
    ]
    words = {word for text in texts for word in _words(text)}
    lines = [
        f"{word} {_pronounce(word, ()) or new_words[word]}" for word in sorted(words)
    ]
    with tempfile.TemporaryDirectory(prefix="speechmatics-local-") as folder:
        dictionary = Path(folder) / "home.dict"
        dictionary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        jsgf = Path(folder) / "home.gram"
        jsgf.write_text(grammar(spoken), encoding="utf-8")
        return Decoder(Config(**base, dict=str(dictionary), jsgf=str(jsgf), lm=None))


def _check_audio(start: dict[str, Any]) -> None:
    """Refuse audio the acoustic model cannot hear."""
    audio = start["audio_format"]
    if (
        audio.get("type") != "raw"
        or audio.get("encoding") != "pcm_s16le"
        or audio.get("sample_rate") != SAMPLE_RATE
    ):
        reason = (
            f"the local engine takes raw pcm_s16le audio at {SAMPLE_RATE} Hz only, "
            f"not {audio}"
        )
        error_type = "invalid_audio_type"
        raise UnsupportedInput(error_type, reason)


class SphinxRecognizer:
    """Streams audio through PocketSphinx, as the service streams through its models.

    Partials come from the live hypothesis; finals at the end of each utterance its
    endpointer finds, at ForceEndOfUtterance and at the end of the stream. A final is
    a second pass over the utterance, with the cepstral mean the first pass ended
    with: a session's first words are heard with a generic mean, which is far from a
    given voice (59 of 60 test commands right, where one pass gets 55; it costs a
    few tenths of a second per utterance, and recognizer_in_thread keeps it off the
    engine's event loop).
    """

    word_delimiter = " "

    def __init__(self, start: dict[str, Any]) -> None:
        """Build the session's decoder from its StartRecognition (blocking, ~0.2-0.6 s)."""
        _check_audio(start)
        config = start["transcription_config"]
        self._decoder = _decoder(config.get("additional_vocab", []))
        silence = config.get("conversation_config", {}).get(
            "end_of_utterance_silence_trigger", 0
        )
        self._end_of_utterance = bool(silence)
        # An utterance ends after this much silence: the session's trigger, if it set
        # one. The strictest voice activity detection: looser modes take room noise
        # for speech.
        self._endpointer = Endpointer(
            window=silence or _UTTERANCE_PAUSE, vad_mode=Vad.STRICT
        )
        self._pending = bytearray()
        self._noise = np.random.default_rng(0)
        self._heard = 0  # bytes through the endpointer
        self._utterance = bytearray()  # the audio of the utterance, for the second pass
        self._utterance_start: float | None = None
        self._spoke = False
        self._partial = ""
        self._partial_tokens: list[Token] = []

    def feed(self, audio: bytes) -> list[dict[str, Any]]:
        """Take audio; return a partial if the hypothesis changed, finals at pauses.

        The decoder hears all the audio, silence too (its acoustic model expects some);
        the endpointer only says where an utterance ends, and whether it held speech.
        """
        self._pending += audio
        size = self._endpointer.frame_bytes
        out: list[dict[str, Any]] = []
        while len(self._pending) >= size:
            frame = bytes(self._pending[:size])
            del self._pending[:size]
            if self._utterance_start is None:
                self._start_utterance(self._heard / (2 * SAMPLE_RATE))
            self._heard += size
            decoded = self._floored(frame)
            self._keep(decoded)
            self._decoder.process_raw(decoded)
            self._endpointer.process(frame)
            if self._endpointer.in_speech:
                self._spoke = True
            elif self._spoke:
                out.extend(self._end_utterance())
                if self._end_of_utterance:
                    end = self._endpointer.speech_end
                    out.append(
                        {
                            "message": "EndOfUtterance",
                            "metadata": {"start_time": end, "end_time": end},
                        }
                    )
        if self._spoke:
            out.extend(self._partial_message())
        return out

    def finish_utterance(self) -> list[dict[str, Any]]:
        """Finalise what was heard so far; go on listening."""
        return self._end_utterance()

    def finish(self) -> list[dict[str, Any]]:
        """Finalise everything at the end of the stream."""
        if self._pending and self._utterance_start is not None:
            decoded = self._floored(bytes(self._pending))
            self._keep(decoded)
            self._decoder.process_raw(decoded)
        self._pending.clear()
        return self._end_utterance()

    def _floored(self, audio: bytes) -> bytes:
        """Return the audio with the noise floor the acoustic model expects."""
        samples = np.frombuffer(audio, "<i2") + self._noise.normal(
            0, _NOISE_FLOOR, len(audio) // 2
        )
        return np.clip(samples, -32768, 32767).astype("<i2").tobytes()

    def _start_utterance(self, at: float) -> None:
        self._decoder.start_utt()
        self._utterance_start = at
        self._spoke = False
        self._partial = ""
        self._partial_tokens = []

    def _end_utterance(self) -> list[dict[str, Any]]:
        """End the decoder's utterance; return its final, if it held speech with words."""
        if self._utterance_start is None:
            return []
        self._decoder.end_utt()
        spoke, self._spoke = self._spoke, False
        if spoke:
            self._second_pass()
        self._utterance.clear()  # not kept until the next utterance starts
        # Speech the grammar cannot complete has no hypothesis: the service would still
        # finalise what it heard, so the last partial becomes the final.
        tokens = self._tokens(final=True) or self._finalised(self._partial_tokens)
        self._utterance_start = None
        if not spoke or not tokens:
            return []
        return [transcript_message(tokens, self.word_delimiter, final=True)]

    def _keep(self, audio: bytes | bytearray) -> None:
        """Keep the utterance's audio for the second pass, up to its limit."""
        if len(self._utterance) <= _SECOND_PASS_BYTES:
            self._utterance += audio

    def _second_pass(self) -> None:
        """Decode the utterance again from the cepstral mean the first pass adapted."""
        if len(self._utterance) > _SECOND_PASS_BYTES:
            return
        self._decoder.set_cmn(self._decoder.get_cmn(update=True))
        self._decoder.start_utt()
        self._decoder.process_raw(self._utterance)
        self._decoder.end_utt()

    def _partial_message(self) -> list[dict[str, Any]]:
        hypothesis = self._decoder.hyp()
        text = hypothesis.hypstr if hypothesis is not None else ""
        if text == self._partial:
            return []
        self._partial = text
        self._partial_tokens = self._tokens(final=False)
        return [transcript_message(self._partial_tokens, final=False)]

    def _tokens(self, *, final: bool) -> list[Token]:
        """Return the words heard in this utterance, timed; a final's with its mark."""
        offset = self._utterance_start or 0.0
        tokens = [
            Token(
                segment.word.split("(", 1)[0],
                round(offset + segment.start_frame / _FRAMES_PER_SECOND, 2),
                round(offset + (segment.end_frame + 1) / _FRAMES_PER_SECOND, 2),
            )
            for segment in self._decoder.seg() or ()
            if segment.word not in _FILLERS
        ]
        if not tokens:
            return []
        first = tokens[0]
        tokens[0] = Token(first.content.capitalize(), first.start_time, first.end_time)
        return self._finalised(tokens) if final else tokens

    @staticmethod
    def _finalised(tokens: list[Token]) -> list[Token]:
        """Return the words of a final with its closing punctuation mark."""
        if not tokens:
            return []
        mark = "?" if tokens[0].content.lower() in _QUESTION_WORDS else "."
        return [*tokens, Token(mark, tokens[-1].end_time, tokens[-1].end_time)]
