"""What the entry's options ask of each session, and how the vocabulary is stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_CONTENT,
    CONF_ENABLE_PARTIALS,
    CONF_END_OF_SPEECH,
    CONF_END_OF_UTTERANCE_SILENCE,
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
    END_OF_SPEECH_SPEECHMATICS,
    SpeechmaticsLanguage,
)
from .realtime import AdditionalVocab, TranscriptionConfig
from .vocabulary import HomeName, merge


def vocab_from_options(
    entries: Sequence[Mapping[str, Any]],
) -> tuple[AdditionalVocab, ...]:
    """Return the additional vocabulary stored in the options."""
    return tuple(
        AdditionalVocab(entry[CONF_CONTENT], tuple(entry.get(CONF_SOUNDS_LIKE, ())))
        for entry in entries
    )


def vocab_to_options(vocab: Iterable[AdditionalVocab]) -> list[dict[str, Any]]:
    """Return vocabulary in the form the options store it."""
    return [
        {CONF_CONTENT: entry.content, CONF_SOUNDS_LIKE: list(entry.sounds_like)}
        if entry.sounds_like
        else {CONF_CONTENT: entry.content}
        for entry in vocab
    ]


def speechmatics_ends_speech(options: Mapping[str, Any]) -> bool:
    """Return whether Speechmatics, not Home Assistant, decides when speech ends."""
    mode: str = options.get(CONF_END_OF_SPEECH, DEFAULT_END_OF_SPEECH)
    return mode == END_OF_SPEECH_SPEECHMATICS


def session_vocab(
    options: Mapping[str, Any], home: Sequence[HomeName]
) -> tuple[tuple[AdditionalVocab, ...], dict[str, int]]:
    """Return a session's vocabulary: the user's, then the home's names if asked for.

    Also returns how many entries came from each source.
    """
    user = vocab_from_options(options.get(CONF_ADDITIONAL_VOCAB, []))
    if not options.get(CONF_VOCABULARY_FROM_HOME, DEFAULT_VOCABULARY_FROM_HOME):
        home = ()
    return merge(user, home)


def transcription_config(
    options: Mapping[str, Any],
    language: SpeechmaticsLanguage,
    home: Sequence[HomeName] = (),
) -> TranscriptionConfig:
    """Return the transcription config for a language, the options and the home's names."""
    trigger = None
    if speechmatics_ends_speech(options):
        trigger = options.get(
            CONF_END_OF_UTTERANCE_SILENCE, DEFAULT_END_OF_UTTERANCE_SILENCE
        )
    return TranscriptionConfig(
        language=language.code,
        output_locale=language.output_locale,
        model=options.get(CONF_MODEL, DEFAULT_MODEL),
        max_delay=options.get(CONF_MAX_DELAY, DEFAULT_MAX_DELAY),
        enable_partials=options.get(CONF_ENABLE_PARTIALS, DEFAULT_ENABLE_PARTIALS),
        additional_vocab=session_vocab(options, home)[0],
        end_of_utterance_silence_trigger=trigger,
    )
