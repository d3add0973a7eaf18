"""scripts/develop's setup: a real Home Assistant, configured through its own APIs.

Starts Home Assistant as a process with a development configuration, lets
tools/develop_setup.py onboard it, add the integration against the local engine and
point Assist at it, then speaks a command through Assist's WebSocket API, the way the
browser's Assist dialog does, and checks the light went on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
import socket
import sys

import aiohttp
import pytest

from tools.develop_setup import HomeAssistantApi
from tools.speechmatics_server import RealtimeServer
from tools.spoken import spoken

from .common import chunks

ROOT = Path(__file__).parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def home_assistant(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[str]:
    """Run Home Assistant with the development home on a free port; yield its URL."""
    port = _free_port()
    config = tmp_path / "config"
    config.mkdir()
    (config / "custom_components").symlink_to(ROOT / "custom_components")
    home = (ROOT / "config" / "configuration.yaml").read_text()
    template = home[home.index("template:") : home.index("logger:")]
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  name: Test home\n"
        f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
        "onboarding:\nconfig:\nassist_pipeline:\nconversation:\n" + template
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "homeassistant",
        "--config",
        str(config),
        "--skip-pip",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        async with asyncio.timeout(60):
            await process.wait()


async def test_develop_setup_then_talk(
    home_assistant: str, local_engine: RealtimeServer
) -> None:
    """Test the setup is done through HA's APIs and a spoken command works end to end."""
    async with aiohttp.ClientSession() as http:
        api = HomeAssistantApi(http, home_assistant)
        steps = await api.wait_ready(120)
        await api.log_in(steps)
        await api.finish_onboarding(steps)
        entry_id = await api.add_speechmatics(local_engine.url, "any key")
        assert await api.add_speechmatics(local_engine.url, "any key") == entry_id
        stt = await api.use_for_assist(entry_id)
        assert stt.startswith("stt.speechmatics")

        async with http.ws_connect(f"{home_assistant}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": api.token})
            assert (await ws.receive_json())["type"] == "auth_ok"
            await ws.send_json(
                {
                    "id": 1,
                    "type": "assist_pipeline/run",
                    "start_stage": "stt",
                    "end_stage": "intent",
                    "input": {"sample_rate": 16000},
                }
            )
            events: dict[str, dict] = {}
            async with asyncio.timeout(60):
                while "run-start" not in events:
                    message = await ws.receive_json()
                    if message.get("type") == "event":
                        events[message["event"]["type"]] = message["event"]["data"]
                handler = events["run-start"]["runner_data"]["stt_binary_handler_id"]
                for chunk in chunks(spoken("turn on the kitchen light")):
                    await ws.send_bytes(bytes([handler]) + chunk)
                    await asyncio.sleep(0.0025)  # a satellite's pace, four times faster
                await ws.send_bytes(bytes([handler]))
                while "run-end" not in events and "error" not in events:
                    message = await ws.receive_json()
                    if message.get("type") == "event":
                        events[message["event"]["type"]] = message["event"]["data"]
        assert "error" not in events, events["error"]
        assert events["stt-end"]["stt_output"]["text"] == "Turn on the kitchen light."
        state = await api.request("GET", "/api/states/light.kitchen_light")
        assert state["state"] == "on"
