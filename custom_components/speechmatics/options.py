"""The entry's options: one schema checks them, and they say what each session asks for.

The options flow saves only what the schema passes, and the runs read the options
through it too: stored options it rejects (written by an older version, a script or a
hand edit) fall back to their defaults, key by key, with a log line, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import logging
from typing import Any

from homeassistant.helpers import config_validation as cv
import probatio

from .const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_CONTENT,
    CONF_ENABLE_PARTIALS,
    CONF_END_OF_SPEECH,
    CONF_END_OF_UTTERANCE_SILENCE,
    CONF_FALLBACK_STT,
    CONF_MAX_DELAY,
    CONF_MODEL,
    CONF_SOUNDS_LIKE,
    CONF_VOCABULARY_FROM_HOME,
    DEFAULT_ENABLE_PARTIALS,
    DEFAULT_END_OF_SPEECH,
    DEFAULT_END_OF_UTTERANCE_SILENCE,
    DEFAULT_MAX_DELAY,
    DEFAULT_MODEL,
    DEFAULT_VOCABULARY_FROM_HOME,
    END_OF_SPEECH_MODES,
    END_OF_SPEECH_SPEECHMATICS,
    END_OF_UTTERANCE_SILENCE_RANGE,
    MODELS,
    SpeechmaticsLanguage,
)
from .realtime import (
    MAX_ADDITIONAL_VOCAB,
    MAX_DELAY_RANGE,
    AdditionalVocab,
    TranscriptionConfig,
    check_phrase,
)
from .vocabulary import HomeName, merge

_LOGGER = logging.getLogger(__name__)

MAX_SOUNDS_LIKE = 10


def _phrase(value: str) -> str:
    """Return a vocabulary phrase with its spacing collapsed; refuse what is no phrase."""
    try:
        return check_phrase(value)
    except ValueError as err:
        raise probatio.Invalid(str(err)) from err


def _number(value: Any) -> Any:
    """Refuse a boolean where a number belongs (bool is an int to Python)."""
    if isinstance(value, bool):
        msg = "expected a number"
        raise probatio.Invalid(msg)
    return value


_TEXT = probatio.All(str, _phrase)
VOCAB_ENTRY = probatio.Schema(
    {
        probatio.Required(CONF_CONTENT): _TEXT,
        probatio.Optional(CONF_SOUNDS_LIKE): probatio.Any(
            None, probatio.All([_TEXT], probatio.Length(max=MAX_SOUNDS_LIKE))
        ),
    }
)


def _seconds(low: float, high: float) -> Any:
    return probatio.All(
        _number, probatio.Coerce(float), probatio.Range(min=low, max=high)
    )


# Each option's check and default. additional_vocab is checked entry by entry.
_OPTIONS: dict[str, tuple[Any, Any]] = {
    CONF_MODEL: (probatio.In(MODELS), DEFAULT_MODEL),
    CONF_MAX_DELAY: (_seconds(*MAX_DELAY_RANGE), DEFAULT_MAX_DELAY),
    CONF_ENABLE_PARTIALS: (probatio.Schema(bool), DEFAULT_ENABLE_PARTIALS),
    CONF_END_OF_SPEECH: (probatio.In(END_OF_SPEECH_MODES), DEFAULT_END_OF_SPEECH),
    CONF_END_OF_UTTERANCE_SILENCE: (
        _seconds(*END_OF_UTTERANCE_SILENCE_RANGE),
        DEFAULT_END_OF_UTTERANCE_SILENCE,
    ),
    CONF_VOCABULARY_FROM_HOME: (probatio.Schema(bool), DEFAULT_VOCABULARY_FROM_HOME),
    CONF_FALLBACK_STT: (probatio.Any(None, cv.entity_domain("stt")), None),
}


@dataclass(frozen=True, slots=True)
class EntryOptions:
    """The options of an entry, checked."""

    model: str = DEFAULT_MODEL
    max_delay: float = DEFAULT_MAX_DELAY
    enable_partials: bool = DEFAULT_ENABLE_PARTIALS
    end_of_speech: str = DEFAULT_END_OF_SPEECH
    end_of_utterance_silence: float = DEFAULT_END_OF_UTTERANCE_SILENCE
    vocabulary_from_home: bool = DEFAULT_VOCABULARY_FROM_HOME
    additional_vocab: tuple[AdditionalVocab, ...] = ()
    fallback_stt: str | None = None

    @property
    def speechmatics_ends_speech(self) -> bool:
        """Return whether Speechmatics, not Home Assistant, decides when speech ends."""
        return self.end_of_speech == END_OF_SPEECH_SPEECHMATICS

    def as_options(self) -> dict[str, Any]:
        """Return the options in the form the entry stores them."""
        options: dict[str, Any] = {
            CONF_MODEL: self.model,
            CONF_MAX_DELAY: self.max_delay,
            CONF_ENABLE_PARTIALS: self.enable_partials,
            CONF_END_OF_SPEECH: self.end_of_speech,
            CONF_END_OF_UTTERANCE_SILENCE: self.end_of_utterance_silence,
            CONF_VOCABULARY_FROM_HOME: self.vocabulary_from_home,
            CONF_ADDITIONAL_VOCAB: vocab_to_options(self.additional_vocab),
        }
        if self.fallback_stt is not None:
            options[CONF_FALLBACK_STT] = self.fallback_stt
        return options


def check_options(options: Mapping[str, Any]) -> tuple[EntryOptions, list[str]]:
    """Return the options checked, and a description of each value that was refused.

    A refused value gives way to its default; a refused vocabulary entry is left out
    (the others stay), and entries past Speechmatics' limit of 1000 are left out too.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, (check, default) in _OPTIONS.items():
        value = options.get(key, default)
        try:
            values[key] = check(value)
        except probatio.Invalid as err:
            problems.append(f"{key} ({_shown(value)}: {err})")
            values[key] = default
    vocab, vocab_problems = _check_vocab(options.get(CONF_ADDITIONAL_VOCAB, []))
    problems.extend(vocab_problems)
    return EntryOptions(**values, additional_vocab=vocab), problems


def _check_vocab(entries: Any) -> tuple[tuple[AdditionalVocab, ...], list[str]]:
    """Return the stored vocabulary's valid entries, and what was wrong with the rest."""
    if not isinstance(entries, list | tuple):
        return (), [f"{CONF_ADDITIONAL_VOCAB} ({_shown(entries)}: expected a list)"]
    vocab: list[AdditionalVocab] = []
    problems: list[str] = []
    for position, entry in enumerate(entries):
        try:
            checked = VOCAB_ENTRY(entry)
        except probatio.Invalid as err:
            problems.append(
                f"{CONF_ADDITIONAL_VOCAB}[{position}] ({_shown(entry)}: {err})"
            )
            continue
        vocab.append(
            AdditionalVocab(
                checked[CONF_CONTENT], tuple(checked.get(CONF_SOUNDS_LIKE) or ())
            )
        )
    if len(vocab) > MAX_ADDITIONAL_VOCAB:
        problems.append(
            f"{CONF_ADDITIONAL_VOCAB} ({len(vocab)} entries: "
            f"only the first {MAX_ADDITIONAL_VOCAB} are kept)"
        )
        del vocab[MAX_ADDITIONAL_VOCAB:]
    return tuple(vocab), problems


def _shown(value: Any) -> str:
    """Return a refused value for a log line: its type, and its start."""
    text = repr(value)
    if len(text) > 40:
        text = text[:40] + "..."
    return f"{type(value).__name__} {text}"


def log_problems(title: str, problems: Sequence[str]) -> None:
    """Log the option values that were refused, in one line."""
    _LOGGER.warning(
        "Options of %s that are not valid were replaced by their defaults: %s",
        title,
        "; ".join(problems),
    )


def vocab_to_options(vocab: Iterable[AdditionalVocab]) -> list[dict[str, Any]]:
    """Return vocabulary in the form the options store it."""
    return [
        {CONF_CONTENT: entry.content, CONF_SOUNDS_LIKE: list(entry.sounds_like)}
        if entry.sounds_like
        else {CONF_CONTENT: entry.content}
        for entry in vocab
    ]


def session_vocab(
    options: EntryOptions, home: Sequence[HomeName]
) -> tuple[tuple[AdditionalVocab, ...], dict[str, int]]:
    """Return a session's vocabulary: the user's, then the home's names if asked for.

    Also returns how many entries came from each source.
    """
    return merge(options.additional_vocab, home if options.vocabulary_from_home else ())


def transcription_config(
    options: EntryOptions,
    language: SpeechmaticsLanguage,
    home: Sequence[HomeName] = (),
) -> TranscriptionConfig:
    """Return the transcription config for a language, the options and the home's names."""
    return TranscriptionConfig(
        language=language.code,
        output_locale=language.output_locale,
        model=options.model,
        max_delay=options.max_delay,
        enable_partials=options.enable_partials,
        additional_vocab=session_vocab(options, home)[0],
        end_of_utterance_silence_trigger=(
            options.end_of_utterance_silence
            if options.speechmatics_ends_speech
            else None
        ),
    )
