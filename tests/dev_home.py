"""The development home of scripts/develop, run for tests: Home Assistant as a process.

Shared by tests/test_develop.py (Assist's WebSocket API) and tests/test_browser.py
(Home Assistant's own frontend in Chromium).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
import socket
import sys
from typing import Any

import aiohttp

from tools.develop_setup import Engines, HomeAssistantApi, SetupError, configure

ROOT = Path(__file__).parents[1]
EVENT_TRANSCRIPT = "speechmatics_transcript"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HomeAssistantProcess:
    """Home Assistant with the development home, as a process on a free port."""

    def __init__(self, config: Path) -> None:
        """Write the configuration: the development home's, on a free port."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config.mkdir()
        (config / "custom_components").symlink_to(ROOT / "custom_components")
        home = (ROOT / "config" / "configuration.yaml").read_text()
        (config / "configuration.yaml").write_text(
            home[: home.index("logger:")]
            + f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
        )
        self.config = config
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start Home Assistant (configure() waits until it answers)."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "homeassistant",
            "--config",
            str(self.config),
            "--skip-pip",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def stop(self) -> None:
        """Stop Home Assistant and wait for it to end."""
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            async with asyncio.timeout(60):
                await self._process.wait()


async def set_up(
    http: aiohttp.ClientSession, home: HomeAssistantProcess, engines: Engines
) -> HomeAssistantApi:
    """Run scripts/develop's setup; confirm the HTTP settings of the test's YAML.

    Home Assistant 2026.11 takes `http:` from YAML as new settings for the user to
    confirm (a dialog over the page; not confirmed, they revert after five minutes);
    2026.10 applies them as they are and has no command for it.
    """
    api = await configure(http, home.url, engines, 120)
    async with api.websocket():
        try:
            settings = await api.call({"type": "http/config"})
        except SetupError:
            return api
        if settings["pending"] is not None:
            await api.call({"type": "http/config/promote"})
    return api


class TranscriptEvents:
    """The speechmatics_transcript events Home Assistant fires, as they come."""

    def __init__(self) -> None:
        """Hold none yet."""
        self.events: list[dict[str, Any]] = []
        self._final = asyncio.Event()

    async def final(self, seconds: float = 30) -> dict[str, Any]:
        """Wait for the next final event; return it."""
        async with asyncio.timeout(seconds):
            await self._final.wait()
        self._final.clear()
        return next(event for event in reversed(self.events) if event["is_final"])

    def take(self) -> list[dict[str, Any]]:
        """Return the events so far and forget them."""
        taken, self.events = self.events, []
        return taken

    def add(self, data: dict[str, Any]) -> None:
        """Take an event as it comes."""
        self.events.append(data)
        if data["is_final"]:
            self._final.set()


@contextlib.asynccontextmanager
async def transcript_events(api: HomeAssistantApi) -> AsyncIterator[TranscriptEvents]:
    """Subscribe to the transcript events over the WebSocket API while in the block."""
    received = TranscriptEvents()
    async with api.connect() as ws:
        await ws.send_json(
            {"id": 1, "type": "subscribe_events", "event_type": EVENT_TRANSCRIPT}
        )
        assert (await ws.receive_json())["success"]

        async def read() -> None:
            async for message in ws:
                data = message.json()
                if data.get("type") == "event":
                    received.add(data["event"]["data"])

        reader = asyncio.create_task(read())
        try:
            yield received
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
