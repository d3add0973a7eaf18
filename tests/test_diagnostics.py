"""Tests for the Speechmatics diagnostics."""

from __future__ import annotations

from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from tools.speechmatics_server import RealtimeServer

from .common import ENTITY_ID, audio_stream, metadata
from .conftest import API_KEY


async def test_diagnostics_redact_the_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Test the diagnostics show the entry with the key redacted, and the last error."""
    fake_speechmatics.http_status = 503
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    await entity.async_process_audio_stream(metadata(), audio_stream(bytes(640)))

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, setup_integration
    )
    assert API_KEY not in str(diagnostics)
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"
    assert diagnostics["sessions"] == 1
    assert "503" in diagnostics["last_error"]
    assert diagnostics == snapshot(
        exclude=props("created_at", "modified_at", "entry_id", "url", "discovery_keys")
    )
