"""Tests for setting up and unloading the Speechmatics integration."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics.const import DOMAIN


async def test_load_unload_entry(hass: HomeAssistant) -> None:
    """Test the integration loads from a config entry and unloads again."""
    entry = MockConfigEntry(domain=DOMAIN, entry_id="01JSPEECHMATICS0000000000")
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
