"""scripts/develop's setup: a real Home Assistant, configured through its own APIs.

Starts Home Assistant as a process with the development home, lets
tools/develop_setup.py onboard it, add the integration against the local engine with a
second local engine as its fallback and the text-to-speech service, and point Assist at
them; then speaks commands through Assist's WebSocket API, the way the browser's Assist
dialog does: one answered by the main engine, one by the fallback during
scripts/outage. Home Assistant is then started again on the same configuration, which
the setup leaves as it was.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp

from tools.develop_setup import FALLBACK_TITLE, Engines, HomeAssistantApi
from tools.speechmatics_server import RealtimeServer
from tools.spoken import spoken

from .common import chunks
from .dev_home import ROOT, HomeAssistantProcess, set_up, transcript_events


async def _talk(api: HomeAssistantApi, command: str) -> dict[str, Any]:
    """Speak a command through Assist; return the pipeline's events and the final event."""
    async with transcript_events(api) as transcripts, api.connect() as ws:
        await ws.send_json(
            {
                "id": 1,
                "type": "assist_pipeline/run",
                "start_stage": "stt",
                "end_stage": "tts",
                "input": {"sample_rate": 16000},
            }
        )
        events: dict[str, Any] = {}

        async def read_until(kinds: set[str]) -> None:
            while not kinds & events.keys():
                message = await ws.receive_json()
                if message.get("type") == "event":
                    events[message["event"]["type"]] = message["event"]["data"]

        async with asyncio.timeout(60):
            await read_until({"run-start"})
            handler = events["run-start"]["runner_data"]["stt_binary_handler_id"]
            for chunk in chunks(spoken(command)):
                await ws.send_bytes(bytes([handler]) + chunk)
                await asyncio.sleep(0.0025)  # a satellite's pace, four times faster
            await ws.send_bytes(bytes([handler]))
            await read_until({"run-end", "error"})
        assert "error" not in events, events["error"]
        events["final"] = await transcripts.final()
    return events


async def _answer_audio(api: HomeAssistantApi, events: dict[str, Any]) -> bytes:
    """Return the spoken answer's audio, fetched as the browser fetches it."""
    output = events["tts-end"]["tts_output"]
    async with api.http.get(f"{api.base}{output['url']}") as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "audio/mpeg"
        return await response.read()


async def _outage(local_engine: RealtimeServer, switch: str) -> None:
    """Run scripts/outage against the test's main engine."""
    port = local_engine.url.rsplit(":", 1)[1].split("/")[0]
    process = await asyncio.create_subprocess_exec(
        str(ROOT / "scripts" / "outage"),
        switch,
        env={**os.environ, "LOCAL_ENGINE_PORT": port},
        stdout=asyncio.subprocess.DEVNULL,
    )
    async with asyncio.timeout(30):
        assert await process.wait() == 0


async def test_develop_setup_talk_fall_back_and_start_again(
    home_assistant: HomeAssistantProcess,
    local_engine: RealtimeServer,
    engines: Engines,
) -> None:
    """Test the setup, a command, one during an outage, and a second start."""
    async with aiohttp.ClientSession() as http:
        api = await set_up(http, home_assistant, engines)
        entries = await api.entries("speechmatics")
        assert sorted(entry["title"] for entry in entries) == [
            FALLBACK_TITLE,
            "Speechmatics (127.0.0.1)",
        ]

        events = await _talk(api, "turn on the kitchen light")
        assert events["stt-end"]["stt_output"]["text"] == "Turn on the kitchen light."
        assert events["final"]["engine"] == "speechmatics"
        state = await api.request("GET", "/api/states/light.kitchen_light")
        assert state["state"] == "on"
        assert len(await _answer_audio(api, events)) > 1000

        await _outage(local_engine, "on")
        events = await _talk(api, "turn off the kitchen light")
        assert events["stt-end"]["stt_output"]["text"] == "Turn off the kitchen light."
        assert events["final"]["engine"] == "fallback"
        state = await api.request("GET", "/api/states/light.kitchen_light")
        assert state["state"] == "off"
        await _outage(local_engine, "off")

        await home_assistant.stop()
        await home_assistant.start()
        api = await set_up(http, home_assistant, engines)
        assert [entry["entry_id"] for entry in await api.entries("speechmatics")] == [
            entry["entry_id"] for entry in entries
        ]
        events = await _talk(api, "turn on the kitchen light")
        assert events["final"]["engine"] == "speechmatics"
