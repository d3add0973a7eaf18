"""A Realtime session's life: one stream each, cancellation, closing, and the client's bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.speechmatics.realtime import (
    RealtimeClient,
    RecognitionStarted,
    SessionClosed,
    SessionOptions,
    TooManySessions,
    TranscriptionConfig,
)
from tools.speechmatics_server import Notify, RealtimeServer, Stall, Trigger

from .common import (
    TEXT,
    assert_closed,
    assert_no_session_tasks,
    audio_stream,
    held_audio,
    speech,
    transcribe,
)
from .conftest import fast_client

CONFIG = TranscriptionConfig(language="en", enable_partials=True)


@pytest.mark.parametrize("stage", ["connect", "start", "stream", "finish"])
async def test_cancellation_closes_everything(
    client: RealtimeClient, fake_speechmatics: RealtimeServer, stage: str
) -> None:
    """Test cancelling the caller at each stage closes the socket and every task."""
    fake_speechmatics.start_delay = 0.2 if stage == "start" else 0.0
    if stage == "finish":
        fake_speechmatics.actions[Trigger.END_OF_STREAM] = [Stall()]
    reached, release = asyncio.Event(), asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        if stage == "connect":
            reached.set()
        async for chunk in audio_stream(speech(0.3)):
            yield chunk
        if stage == "start":
            reached.set()
        if stage != "finish":
            async with asyncio.timeout(10):
                await release.wait()
        else:
            reached.set()

    async def run() -> None:
        session = client.session(CONFIG)
        async for event in session.transcribe(source()):
            if stage == "stream" and isinstance(event, RecognitionStarted):
                reached.set()

    task = asyncio.create_task(run())
    async with asyncio.timeout(2):
        await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_no_session_tasks()
    await fake_speechmatics.wait_closed()


async def test_closing_the_client_stops_its_sessions(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test client.close() stops a running session: its caller gets SessionClosed."""
    started = asyncio.Event()
    session = client.session(CONFIG)

    async def run() -> None:
        async for event in session.transcribe(held_audio(speech(0.5), asyncio.Event())):
            if isinstance(event, RecognitionStarted):
                started.set()

    task = asyncio.create_task(run())
    async with asyncio.timeout(5):
        await started.wait()
    assert client.open_sessions == 1
    await client.close()
    with pytest.raises(SessionClosed):
        await task
    assert client.open_sessions == 0
    await assert_closed(fake_speechmatics)


async def test_a_session_transcribes_one_stream(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test close() before and after is harmless, and a second stream is refused."""
    session = client.session(CONFIG)
    await session.close()
    assert await transcribe(session, speech(0.2)) == TEXT
    await session.close()
    await session.close()
    assert session.complete
    with pytest.raises(RuntimeError, match="transcribes one stream"):
        await transcribe(session, speech(0.2))
    with pytest.raises(RuntimeError, match="not running"):
        session.force_end_of_utterance()
    await assert_closed(fake_speechmatics)


async def test_force_end_of_utterance_after_the_audio_is_refused(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test ForceEndOfUtterance once the audio has ended is a clear error."""
    ended = asyncio.Event()
    fake_speechmatics.actions[Trigger.END_OF_STREAM] = [Notify(ended), Stall()]
    session = client.session(CONFIG)

    async def run() -> None:
        async for _event in session.transcribe(audio_stream(speech(0.2))):
            pass

    task = asyncio.create_task(run())
    async with asyncio.timeout(5):
        await ended.wait()
    with pytest.raises(RuntimeError, match="the audio has ended"):
        session.force_end_of_utterance()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_complete_session_is_not_failed_by_its_finish_timeout(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test a complete session is not failed later by its finish timeout."""
    client = fast_client(http, fake_speechmatics.url, finish_timeout=1.0)
    session = client.session(CONFIG)
    assert await transcribe(session, speech(1.0)) == TEXT
    await asyncio.sleep(1.2)  # past the finish timeout: nothing may happen
    assert session.complete
    assert session.failure is None


async def test_close_that_cannot_finish_is_given_up(
    http: aiohttp.ClientSession,
    fake_speechmatics: RealtimeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test the session ends when its close frame cannot be written.

    aiohttp's close waits for a full send buffer to drain, with no bound of its own: a
    server that reads nothing more would keep the session (and its caller) for ever.
    """
    client = fast_client(http, fake_speechmatics.url, close_timeout=0.1)
    stuck: list[aiohttp.ClientWebSocketResponse] = []

    async def never_closes(
        self: aiohttp.ClientWebSocketResponse,
        *,
        code: int = 1000,
        message: bytes = b"",
    ) -> bool:
        stuck.append(self)
        try:
            await asyncio.Event().wait()  # the buffer never drains
        finally:
            # What aiohttp's close does when it is cancelled there.
            self._response.close()
        return True

    monkeypatch.setattr(aiohttp.ClientWebSocketResponse, "close", never_closes)
    session = client.session(CONFIG)
    async with asyncio.timeout(5):  # without the bound, this would never end
        assert await transcribe(session, speech(1.0)) == TEXT
        await client.close()
    assert len(stuck) == 1
    assert session.complete
    await assert_no_session_tasks()


async def test_too_many_sessions_fail_at_once(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test a client at max_sessions refuses the next session at once, then recovers.

    Past the HTTP pool's limit per host a session would wait for a connection and
    time out as if the service were down.
    """
    client = RealtimeClient(
        http, "test-api-key", fake_speechmatics.url, sdk_id="t", max_sessions=2
    )
    release = asyncio.Event()
    sessions = [client.session(CONFIG) for _ in range(2)]
    running = [s.transcribe(held_audio(speech(0.2), release)) for s in sessions]
    for events in running:
        await anext(events)  # open: the server's first message is in
    assert client.open_sessions == 2
    source = held_audio(speech(0.2), asyncio.Event())
    with pytest.raises(TooManySessions, match="2 are open already"):
        await transcribe(client.session(CONFIG), source)
    assert source.ag_frame is None  # the refused session closed its audio
    assert len(fake_speechmatics.sessions) == 2
    release.set()
    for events in running:
        async for _event in events:
            pass
    assert [s.transcript.final_text for s in sessions] == [TEXT, TEXT]
    await client.close()
    assert client.open_sessions == 0
    assert await transcribe(client.session(CONFIG), speech(0.2)) == TEXT


def test_client_options_are_validated() -> None:
    """Test impossible options are refused at once."""
    with pytest.raises(ValueError, match="frame_duration"):
        SessionOptions(frame_duration=0)
    with pytest.raises(ValueError, match="max_unacked_frames"):
        SessionOptions(max_unacked_frames=0)
