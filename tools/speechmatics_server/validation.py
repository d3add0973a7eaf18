"""StartRecognition checked the way the service checks it."""

from __future__ import annotations

from typing import Any

_START_KEYS = frozenset(
    {
        "message",
        "audio_format",
        "transcription_config",
        "translation_config",
        "audio_events_config",
    }
)
_TRANSCRIPTION_KEYS = frozenset(
    {
        "additional_vocab",
        "audio_filtering_config",
        "channel_diarization_labels",
        "conversation_config",
        "diarization",
        "domain",
        "enable_entities",
        "enable_partials",
        "language",
        "max_delay",
        "max_delay_mode",
        "model",
        "operating_point",
        "output_locale",
        "punctuation_overrides",
        "speaker_diarization_config",
        "transcript_filtering_config",
    }
)
_ENCODINGS = frozenset({"pcm_s16le", "pcm_f32le", "mulaw"})
_MODELS = frozenset({"standard", "enhanced"})


def validate_start(
    message: dict[str, Any], languages: frozenset[str] | None
) -> tuple[str, str] | None:
    """Return the (error type, reason) the service answers a StartRecognition with."""
    if unknown := set(message) - _START_KEYS:
        return "invalid_message", f"unknown fields: {sorted(unknown)}"
    audio = message.get("audio_format")
    config = message.get("transcription_config")
    if not isinstance(audio, dict) or not isinstance(config, dict):
        return "invalid_message", "audio_format and transcription_config are required"
    if audio.get("type") == "raw":
        if audio.get("encoding") not in _ENCODINGS or not isinstance(
            audio.get("sample_rate"), int
        ):
            return "invalid_audio_type", f"unsupported raw audio: {audio}"
    elif audio.get("type") != "file":
        return "invalid_audio_type", f"unsupported audio type: {audio.get('type')!r}"
    return _validate_transcription(config, languages)


def _validate_transcription(
    config: dict[str, Any], languages: frozenset[str] | None
) -> tuple[str, str] | None:
    """Check a transcription_config the way the service does."""
    if unknown := set(config) - _TRANSCRIPTION_KEYS:
        return "invalid_config", f"unknown fields: {sorted(unknown)}"
    language = config.get("language")
    if not isinstance(language, str) or not language:
        return "invalid_config", "language is required"
    if languages is not None and language not in languages:
        return "invalid_language", f"language not supported: {language}"
    max_delay = config.get("max_delay", 4)
    if not isinstance(max_delay, int | float) or not 0.7 <= max_delay <= 4:
        return "invalid_config", f"max_delay out of range: {max_delay}"
    if "model" in config and "operating_point" in config:
        return "invalid_config", "model and operating_point are exclusive"
    if config.get("model", config.get("operating_point", "standard")) not in _MODELS:
        return "invalid_model", f"model not available: {config.get('model')}"
    if len(config.get("additional_vocab", [])) > 1000:
        return "invalid_config", "too many additional_vocab entries"
    trigger = config.get("conversation_config", {}).get(
        "end_of_utterance_silence_trigger", 0
    )
    if not 0 <= trigger <= 2:
        return "invalid_config", "end_of_utterance_silence_trigger out of range"
    return None
