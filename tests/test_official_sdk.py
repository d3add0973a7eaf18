"""The official speechmatics-rt SDK, which nobody here wrote, against the fake server."""

from __future__ import annotations

import asyncio
from typing import Any

from speechmatics.rt import (
    AsyncClient,
    AudioEncoding,
    AudioFormat,
    ServerMessageType,
    TranscriptionConfig,
    TranscriptResult,
)

from tools.speechmatics_server import RealtimeServer

from .common import chunks, speech
from .conftest import API_KEY


async def test_official_sdk_session(fake_speechmatics: RealtimeServer) -> None:
    """Test a whole SDK session gets the scripted transcript from the fake server."""
    finals: list[dict[str, Any]] = []
    partials: list[dict[str, Any]] = []
    audio = speech(2.0)
    async with AsyncClient(api_key=API_KEY, url=fake_speechmatics.url) as sdk:
        sdk.on(ServerMessageType.ADD_TRANSCRIPT, finals.append)
        sdk.on(ServerMessageType.ADD_PARTIAL_TRANSCRIPT, partials.append)
        await sdk.start_session(
            transcription_config=TranscriptionConfig(
                language="en", enable_partials=True
            ),
            audio_format=AudioFormat(
                encoding=AudioEncoding.PCM_S16LE, sample_rate=16000
            ),
        )
        for chunk in chunks(audio, 3200):
            await sdk.send_audio(chunk)
        async with asyncio.timeout(5):
            await sdk.stop_session()

    text = "".join(TranscriptResult.from_message(m).metadata.transcript for m in finals)
    assert text.strip() == "Turn on the kitchen light."
    assert partials
    record = fake_speechmatics.sessions[0]
    assert bytes(record.audio) == audio
    assert record.start is not None
    assert record.start["transcription_config"]["language"] == "en"
    assert record.end_of_stream is not None
    await fake_speechmatics.wait_closed()
