"""The Speechmatics speech-to-text integration."""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady

from .const import DOMAIN
from .data import (
    SpeechmaticsConfigEntry,
    SpeechmaticsData,
    async_create_validated_client,
)
from .health import ServiceHealth
from .realtime import AuthenticationError, SpeechmaticsError

PLATFORMS: list[Platform] = [Platform.STT]


async def async_setup_entry(
    hass: HomeAssistant, entry: SpeechmaticsConfigEntry
) -> bool:
    """Set up Speechmatics from a config entry, after proving the key and endpoint work."""
    try:
        client = await async_create_validated_client(hass, entry.data)
    except AuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except SpeechmaticsError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    data = SpeechmaticsData(client, ServiceHealth(hass, entry))
    entry.runtime_data = data

    async def async_close_sessions(_event: Event) -> None:
        """Stop running sessions when Home Assistant stops."""
        await data.async_close_sessions()

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, async_close_sessions)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: SpeechmaticsConfigEntry
) -> bool:
    """Unload a Speechmatics config entry, stopping its running sessions."""
    await entry.runtime_data.async_close_sessions()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
