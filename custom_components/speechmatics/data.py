"""Runtime data of a Speechmatics config entry, and the client it holds."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.loader import async_get_integration

from .const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_CONTENT,
    CONF_ENABLE_PARTIALS,
    CONF_MAX_DELAY,
    CONF_MODEL,
    CONF_SOUNDS_LIKE,
    DEFAULT_ENABLE_PARTIALS,
    DEFAULT_MAX_DELAY,
    DEFAULT_MODEL,
    DOMAIN,
    SpeechmaticsLanguage,
)
from .health import ServiceHealth
from .realtime import (
    AdditionalVocab,
    RealtimeClient,
    RealtimeSession,
    SessionOptions,
    TranscriptionConfig,
)

# A voice user waits at most this long after speaking (see README, "What happens when").
SESSION_OPTIONS = SessionOptions(
    connect_timeout=5.0,
    start_timeout=20.0,
    ack_timeout=5.0,
    finish_timeout=8.0,
)
_VALIDATION_LANGUAGE = "en"


@dataclass
class SpeechmaticsData:
    """What a loaded config entry holds."""

    client: RealtimeClient
    health: ServiceHealth
    sessions: int = 0
    active_sessions: set[RealtimeSession] = field(default_factory=set)

    async def async_close_sessions(self) -> None:
        """Stop every running session (unload, reload, shutdown)."""
        await asyncio.gather(*(session.close() for session in self.active_sessions))


type SpeechmaticsConfigEntry = ConfigEntry[SpeechmaticsData]


async def async_create_client(
    hass: HomeAssistant, api_key: str | None, url: str
) -> RealtimeClient:
    """Return a Realtime client on Home Assistant's shared HTTP session."""
    integration = await async_get_integration(hass, DOMAIN)
    return RealtimeClient(
        async_get_clientsession(hass),
        api_key,
        url,
        sdk_id=f"home-assistant-speechmatics-{integration.version}",
        options=SESSION_OPTIONS,
    )


async def async_create_validated_client(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> RealtimeClient:
    """Return a client for the key and URL once a Realtime session opened and closed."""
    client = await async_create_client(hass, data.get(CONF_API_KEY), data[CONF_URL])
    config = TranscriptionConfig(language=_VALIDATION_LANGUAGE)
    async with client.session(config) as session:
        await session.finish()
    return client


def vocab_from_options(
    entries: Sequence[Mapping[str, Any]],
) -> tuple[AdditionalVocab, ...]:
    """Return the additional vocabulary stored in the options."""
    return tuple(
        AdditionalVocab(entry[CONF_CONTENT], tuple(entry.get(CONF_SOUNDS_LIKE, ())))
        for entry in entries
    )


def transcription_config(
    options: Mapping[str, Any], language: SpeechmaticsLanguage
) -> TranscriptionConfig:
    """Return the transcription config for a language and the entry's options."""
    return TranscriptionConfig(
        language=language.code,
        output_locale=language.output_locale,
        model=options.get(CONF_MODEL, DEFAULT_MODEL),
        max_delay=options.get(CONF_MAX_DELAY, DEFAULT_MAX_DELAY),
        enable_partials=options.get(CONF_ENABLE_PARTIALS, DEFAULT_ENABLE_PARTIALS),
        additional_vocab=vocab_from_options(options.get(CONF_ADDITIONAL_VOCAB, [])),
    )
