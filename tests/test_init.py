"""Tests for setting up and unloading the Speechmatics integration."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tools.speechmatics_server import RealtimeServer

from .common import ENTITY_ID


async def test_load_unload_entry(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Test setup proves the key with a real session, adds the entity, and unloads."""
    entry = setup_integration
    assert entry.state is ConfigEntryState.LOADED
    assert len(fake_speechmatics.sessions) == 1
    assert fake_speechmatics.sessions[0].end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": 0,
    }
    registered = entity_registry.async_get(ENTITY_ID)
    assert registered is not None
    assert registered.unique_id == entry.entry_id
    assert hass.states.get(ENTITY_ID) is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert fake_speechmatics.open_connections == 0


async def test_rejected_key_starts_reauth(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Test a key the service rejects fails setup and asks the user for a new one."""
    fake_speechmatics.api_key = "another-key"
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler("speechmatics")
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_unreachable_service_retries(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Test an unreachable service makes Home Assistant retry the setup later."""
    fake_speechmatics.http_status = 503
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "503" in (mock_config_entry.reason or "")
