"""Constants for the Speechmatics integration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DOMAIN: Final = "speechmatics"

CONF_ENDPOINT: Final = "endpoint"
CONF_MODEL: Final = "model"
CONF_MAX_DELAY: Final = "max_delay"
CONF_ENABLE_PARTIALS: Final = "enable_partials"
CONF_ADDITIONAL_VOCAB: Final = "additional_vocab"
CONF_CONTENT: Final = "content"
CONF_SOUNDS_LIKE: Final = "sounds_like"
CONF_END_OF_SPEECH: Final = "end_of_speech"
CONF_END_OF_UTTERANCE_SILENCE: Final = "end_of_utterance_silence"
CONF_VOCABULARY_FROM_HOME: Final = "vocabulary_from_home"
CONF_FALLBACK_STT: Final = "fallback_stt"

ENDPOINT_CUSTOM: Final = "custom"
MODELS: Final = ("standard", "enhanced")
DEFAULT_MODEL: Final = "enhanced"
DEFAULT_MAX_DELAY: Final = 0.7
DEFAULT_ENABLE_PARTIALS: Final = True
DEFAULT_VOCABULARY_FROM_HOME: Final = True

# Who decides that the user has stopped speaking: Speechmatics, from the words it
# heard, or Home Assistant's voice activity detection, which ends the audio stream.
END_OF_SPEECH_SPEECHMATICS: Final = "speechmatics"
END_OF_SPEECH_HOME_ASSISTANT: Final = "home_assistant"
END_OF_SPEECH_MODES: Final = (END_OF_SPEECH_SPEECHMATICS, END_OF_SPEECH_HOME_ASSISTANT)
# Both chosen from the end-of-speech benchmark (README, "Turn-taking").
DEFAULT_END_OF_SPEECH: Final = END_OF_SPEECH_SPEECHMATICS
DEFAULT_END_OF_UTTERANCE_SILENCE: Final = 0.5
END_OF_UTTERANCE_SILENCE_RANGE: Final = (0.2, 2.0)

EVENT_TRANSCRIPT: Final = "speechmatics_transcript"
# The engine a transcript event's text comes from.
ENGINE_SPEECHMATICS: Final = "speechmatics"
ENGINE_FALLBACK: Final = "fallback"


@dataclass(frozen=True, slots=True)
class SpeechmaticsLanguage:
    """What a Home Assistant language tag asks of Speechmatics."""

    code: str
    output_locale: str | None = None


# Speechmatics Realtime language codes, each with the BCP-47 tags Home Assistant
# pipelines use for it. Bilingual packs are offered under their own codes.
_LANGUAGE_TAGS: Final[dict[str, tuple[str, ...]]] = {
    "ar": (
        "ar-AE",
        "ar-BH",
        "ar-DZ",
        "ar-EG",
        "ar-IQ",
        "ar-JO",
        "ar-KW",
        "ar-LB",
        "ar-MA",
        "ar-OM",
        "ar-QA",
        "ar-SA",
        "ar-SY",
        "ar-TN",
        "ar-YE",
    ),
    "ba": ("ba-RU",),
    "be": ("be-BY",),
    "bg": ("bg-BG",),
    "bn": ("bn-BD", "bn-IN"),
    "ca": ("ca-ES",),
    "cmn": ("zh", "zh-CN", "zh-SG", "zh-TW", "zh-Hans", "zh-Hant"),
    "cs": ("cs-CZ",),
    "cy": ("cy-GB",),
    "da": ("da-DK",),
    "de": ("de-AT", "de-CH", "de-DE", "de-LU"),
    "el": ("el-GR", "el-CY"),
    "en": (
        "en-AU",
        "en-CA",
        "en-GB",
        "en-IE",
        "en-IN",
        "en-NZ",
        "en-PH",
        "en-SG",
        "en-US",
        "en-ZA",
    ),
    "eo": (),
    "es": (
        "es-419",
        "es-AR",
        "es-CL",
        "es-CO",
        "es-ES",
        "es-MX",
        "es-PE",
        "es-US",
        "es-VE",
    ),
    "et": ("et-EE",),
    "eu": ("eu-ES",),
    "fa": ("fa-IR",),
    "fi": ("fi-FI",),
    "fr": ("fr-BE", "fr-CA", "fr-CH", "fr-FR", "fr-LU"),
    "ga": ("ga-IE",),
    "gl": ("gl-ES",),
    "he": ("he-IL",),
    "hi": ("hi-IN",),
    "hr": ("hr-HR",),
    "hu": ("hu-HU",),
    "ia": (),
    "id": ("id-ID",),
    "it": ("it-CH", "it-IT"),
    "ja": ("ja-JP",),
    "ko": ("ko-KR",),
    "lt": ("lt-LT",),
    "lv": ("lv-LV",),
    "mn": ("mn-MN",),
    "mr": ("mr-IN",),
    "ms": ("ms-MY", "ms-SG"),
    "mt": ("mt-MT",),
    "nl": ("nl-BE", "nl-NL"),
    "no": ("nb", "nb-NO", "nn", "nn-NO", "no-NO"),
    "pl": ("pl-PL",),
    "pt": ("pt-BR", "pt-PT"),
    "ro": ("ro-RO",),
    "ru": ("ru-RU",),
    "sk": ("sk-SK",),
    "sl": ("sl-SI",),
    "sv": ("sv-FI", "sv-SE"),
    "sw": ("sw-KE", "sw-TZ"),
    "ta": ("ta-IN", "ta-LK", "ta-SG"),
    "th": ("th-TH",),
    "tr": ("tr-TR",),
    "ug": ("ug-CN",),
    "uk": ("uk-UA",),
    "ur": ("ur-IN", "ur-PK"),
    "vi": ("vi-VN",),
    "yue": ("zh-HK", "yue-HK"),
    "cmn_en": (),
    "en_ms": (),
    "en_ta": (),
}

# Tags for which Speechmatics writes a regional spelling or script.
_OUTPUT_LOCALES: Final[dict[str, str]] = {
    "en-AU": "en-AU",
    "en-GB": "en-GB",
    "en-US": "en-US",
    "zh-CN": "cmn-Hans",
    "zh-SG": "cmn-Hans",
    "zh-Hans": "cmn-Hans",
    "zh-TW": "cmn-Hant",
    "zh-Hant": "cmn-Hant",
}

LANGUAGES: Final[dict[str, SpeechmaticsLanguage]] = {
    tag: SpeechmaticsLanguage(code, _OUTPUT_LOCALES.get(tag))
    for code, tags in _LANGUAGE_TAGS.items()
    for tag in (code, *tags)
}
