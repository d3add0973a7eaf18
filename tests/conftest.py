"""Fixtures for the Speechmatics tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import aiohttp
import pytest

# Imported before the test plugin's hass fixture runs, so Home Assistant finds this
# repository's custom_components rather than the plugin's own testing config.
import custom_components.speechmatics  # noqa: F401
from custom_components.speechmatics.realtime import RealtimeClient, SessionOptions

from .fake_speechmatics import FakeSpeechmatics

API_KEY = "test-api-key"

FAST_OPTIONS = SessionOptions(
    connect_timeout=2.0,
    start_timeout=2.0,
    ack_timeout=2.0,
    finish_timeout=2.0,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration under test in every test."""


@pytest.fixture
async def fake_speechmatics(socket_enabled: None) -> AsyncGenerator[FakeSpeechmatics]:
    """Serve a fake Speechmatics Realtime endpoint on 127.0.0.1."""
    async with FakeSpeechmatics(api_key=API_KEY) as server:
        yield server


@pytest.fixture
async def http(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a plain aiohttp session, as Home Assistant would inject its own."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> RealtimeClient:
    """Return a Realtime client for the fake server, with short timeouts."""
    return RealtimeClient(
        http, API_KEY, fake_speechmatics.url, sdk_id="tests-0", options=FAST_OPTIONS
    )


def session_tasks() -> set[asyncio.Task[object]]:
    """Return the tasks of Realtime sessions that are still running."""
    return {
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("speechmatics") and not task.done()
    }
