"""The Speechmatics speech-to-text integration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import (
    CONF_API_KEY,
    CONF_URL,
    EVENT_HOMEASSISTANT_STOP,
    Platform,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.aiohttp_client import (
    MAXIMUM_CONNECTIONS_PER_HOST,
    async_get_clientsession,
)
from homeassistant.loader import async_get_integration

from .const import DOMAIN
from .data import SpeechmaticsConfigEntry, SpeechmaticsData
from .health import ServiceHealth, setup_error
from .options import check_options, log_problems
from .realtime import RealtimeClient, SessionOptions, SpeechmaticsError
from .vocabulary import HomeVocabulary

PLATFORMS: list[Platform] = [Platform.SENSOR, Platform.STT]

# A voice user waits at most this long after speaking (see README, "What happens when").
SESSION_OPTIONS = SessionOptions(
    connect_timeout=5.0,
    start_timeout=20.0,
    ack_timeout=5.0,
    finish_timeout=8.0,
)


async def async_create_client(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> RealtimeClient:
    """Return a Realtime client for an entry's key and URL, on Home Assistant's HTTP session.

    Each session holds one connection of the shared pool, which allows a fixed number
    per host: past it a session would wait for one and look like an outage.
    """
    integration = await async_get_integration(hass, DOMAIN)
    return RealtimeClient(
        async_get_clientsession(hass),
        data.get(CONF_API_KEY),
        data[CONF_URL],
        sdk_id=f"home-assistant-speechmatics-{integration.version}",
        options=SESSION_OPTIONS,
        max_sessions=MAXIMUM_CONNECTIONS_PER_HOST,
    )


async def async_setup_entry(
    hass: HomeAssistant, entry: SpeechmaticsConfigEntry
) -> bool:
    """Set up Speechmatics from a config entry, after proving the key and endpoint work."""
    client = await async_create_client(hass, entry.data)
    try:
        await client.verify()
    except SpeechmaticsError as err:
        raise setup_error(err) from err
    options, problems = check_options(entry.options)
    if problems:
        log_problems(entry.title, problems)
        hass.config_entries.async_update_entry(entry, options=options.as_options())
    vocabulary = HomeVocabulary(hass)
    entry.runtime_data = SpeechmaticsData(
        client, ServiceHealth(hass, entry), vocabulary
    )
    entry.async_on_unload(vocabulary.async_start())

    async def async_close_sessions(_event: Event) -> None:
        """Stop running sessions when Home Assistant stops."""
        await client.close()

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, async_close_sessions)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: SpeechmaticsConfigEntry
) -> bool:
    """Unload a Speechmatics config entry, stopping its running sessions."""
    await entry.runtime_data.client.close()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
