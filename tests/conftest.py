"""Fixtures for the Speechmatics tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from homeassistant.components.assist_pipeline import (
    async_get_pipeline,
    async_update_pipeline,
)
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_config_flow,
    mock_integration,
    mock_platform,
    setup_test_component_platform,
)

# Imported before the test plugin's hass fixture runs, so Home Assistant finds this
# repository's custom_components rather than the plugin's own testing config.
import custom_components.speechmatics  # noqa: F401
from custom_components.speechmatics.const import DOMAIN
from custom_components.speechmatics.realtime import RealtimeClient, SessionOptions
from tools import tts_engine
from tools.develop_setup import Engines
from tools.local_engine import engine
from tools.speechmatics_server import RealtimeServer

from .common import ENTITY_ID, FALLBACK_ID, RecordingSpeechToText
from .dev_home import HomeAssistantProcess, free_port

API_KEY = "test-api-key"

FAST_OPTIONS = SessionOptions(
    connect_timeout=2.0,
    start_timeout=2.0,
    ack_timeout=2.0,
    finish_timeout=2.0,
)


def fast_client(
    http: aiohttp.ClientSession, url: str, **changes: Any
) -> RealtimeClient:
    """Return a client for a URL with the fast test options, changed as given."""
    options = replace(FAST_OPTIONS, **changes)
    return RealtimeClient(http, API_KEY, url, sdk_id="t", options=options)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration under test in every test."""


@pytest.fixture
async def fake_speechmatics(socket_enabled: None) -> AsyncGenerator[RealtimeServer]:
    """Serve a fake Speechmatics Realtime endpoint on 127.0.0.1."""
    async with RealtimeServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
async def local_engine(socket_enabled: None) -> AsyncGenerator[RealtimeServer]:
    """Run the local engine (PocketSphinx) on 127.0.0.1."""
    async with engine() as server:
        yield server


@pytest.fixture
async def engines(
    local_engine: RealtimeServer, socket_enabled: None
) -> AsyncGenerator[Engines]:
    """Run the development home's engines: local, fallback and text-to-speech."""
    tts_port = free_port()
    tts = await tts_engine.start("127.0.0.1", tts_port)
    try:
        async with engine() as fallback:
            yield Engines(local_engine.url, fallback.url, tts_port)
    finally:
        await tts.stop()


@pytest.fixture
async def home_assistant(
    tmp_path: Path, socket_enabled: None
) -> AsyncGenerator[HomeAssistantProcess]:
    """Run Home Assistant with the development home; stop it at the end."""
    process = HomeAssistantProcess(tmp_path / "config")
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def http(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a plain aiohttp session, as Home Assistant would inject its own."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> RealtimeClient:
    """Return a Realtime client for the fake server, with short timeouts."""
    return RealtimeClient(
        http, API_KEY, fake_speechmatics.url, sdk_id="tests-0", options=FAST_OPTIONS
    )


ENTRY_ID = "01JSPEECHMATICS0000000000"


def config_entry(url: str, options: dict[str, Any] | None = None) -> MockConfigEntry:
    """Return the config entry of a server on 127.0.0.1."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Speechmatics (127.0.0.1)",
        data={CONF_API_KEY: API_KEY, CONF_URL: url},
        options=options or {},
    )


@pytest.fixture
def mock_config_entry(fake_speechmatics: RealtimeServer) -> MockConfigEntry:
    """Return a config entry for the fake server."""
    return config_entry(fake_speechmatics.url)


@pytest.fixture
async def setup_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the fake server."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
async def pipeline(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    """Set up Assist with the Speechmatics entity as its speech-to-text engine."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    await async_update_pipeline(
        hass, async_get_pipeline(hass), stt_engine=ENTITY_ID, stt_language="en-US"
    )


class _OtherFlow(ConfigFlow):
    """The config flow of the other engine's integration."""


@pytest.fixture
async def recorder(hass: HomeAssistant) -> AsyncGenerator[RecordingSpeechToText]:
    """Add a speech-to-text entity of another integration: stt.recorder."""
    engine = RecordingSpeechToText()

    async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, [Platform.STT])
        return True

    # A custom integration, which may return True from setup on every release.
    mock_integration(
        hass, MockModule("test", async_setup_entry=async_setup_entry), built_in=False
    )
    mock_platform(hass, "test.config_flow", built_in=False)
    setup_test_component_platform(
        hass, "stt", [engine], from_config_entry=True, built_in=False
    )
    with mock_config_flow("test", _OtherFlow):
        entry = MockConfigEntry(domain="test")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert engine.entity_id == FALLBACK_ID
        yield engine
