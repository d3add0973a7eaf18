"""Helpers shared by the tests: audio, sessions and pipeline runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterator
import contextlib
import io
from typing import Any
import wave

from homeassistant.components import stt
from homeassistant.components.assist_pipeline import (
    PipelineEvent,
    PipelineEventType,
    PipelineStage,
    async_get_pipeline,
    async_pipeline_from_audio_stream,
    async_update_pipeline,
)
from homeassistant.core import Context, Event, HomeAssistant, callback

from custom_components.speechmatics.const import EVENT_TRANSCRIPT
from custom_components.speechmatics.realtime import RealtimeEvent, RealtimeSession
from tools.speechmatics_server import RealtimeServer

CHUNK = 320  # Home Assistant's 10 ms of 16 kHz 16-bit mono
TEXT = "Turn on the kitchen light."
ENTITY_ID = "stt.speechmatics_127_0_0_1_speech_to_text"


def speech(seconds: float) -> bytes:
    """Return audio of the given length (a ramp, so reordering would show)."""
    size = int(32000 * seconds)
    return bytes(i % 251 for i in range(size))


def chunks(audio: bytes, size: int = CHUNK) -> Iterator[bytes]:
    """Split audio as Home Assistant does."""
    for start in range(0, len(audio), size):
        yield audio[start : start + size]


async def collect(
    session: RealtimeSession, audio: bytes | AsyncIterator[bytes]
) -> list[RealtimeEvent]:
    """Stream audio (bytes in Home Assistant's chunks) through a session; return its events."""
    stream = audio_stream(audio) if isinstance(audio, bytes) else audio
    return [event async for event in session.transcribe(stream)]


async def transcribe(
    session: RealtimeSession, audio: bytes | AsyncIterator[bytes]
) -> str:
    """Stream audio through a session; return the final transcript."""
    await collect(session, audio)
    return session.transcript.final_text


async def held_audio(
    audio: bytes, release: asyncio.Event, then: bytes = b""
) -> AsyncIterator[bytes]:
    """Stream audio, then hold the stream open (a user still speaking) until released.

    After the release, `then` follows and the stream ends. The hold is bounded.
    """
    for chunk in chunks(audio):
        yield chunk
    async with asyncio.timeout(10):
        await release.wait()
    for chunk in chunks(then):
        yield chunk


async def counted(audio: bytes, read: list[int]) -> AsyncIterator[bytes]:
    """Yield audio in Home Assistant's chunks as fast as it is taken; count into read[0]."""
    for chunk in chunks(audio):
        read[0] += len(chunk)
        yield chunk


def session_tasks() -> set[asyncio.Task[object]]:
    """Return the tasks of Realtime sessions that are still running."""
    return {
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("speechmatics") and not task.done()
    }


async def assert_no_session_tasks(seconds: float = 5.0) -> None:
    """Assert every session task ends by itself within a bound (a closing socket may lag)."""
    if tasks := session_tasks():
        async with asyncio.timeout(seconds):
            await asyncio.wait(tasks)
    assert not session_tasks()


async def assert_closed(fake: RealtimeServer) -> None:
    """Assert the connection is gone on both ends and no session task is left."""
    await fake.wait_closed()
    assert fake.open_connections == 0
    await assert_no_session_tasks()


def metadata(language: str = "en-US", **overrides: Any) -> stt.SpeechMetadata:
    """Return the metadata of pipeline audio."""
    values: dict[str, Any] = {
        "language": language,
        "format": stt.AudioFormats.WAV,
        "codec": stt.AudioCodecs.PCM,
        "bit_rate": stt.AudioBitRates.BITRATE_16,
        "sample_rate": stt.AudioSampleRates.SAMPLERATE_16000,
        "channel": stt.AudioChannels.CHANNEL_MONO,
    }
    values.update(overrides)
    return stt.SpeechMetadata(**values)


async def audio_stream(audio: bytes) -> AsyncIterator[bytes]:
    """Yield audio in 320-byte chunks, as a satellite's pipeline does."""
    for chunk in chunks(audio):
        yield chunk


def wav_file(
    audio: bytes, rate: int = 16000, channels: int = 1, width: int = 2
) -> bytes:
    """Return audio as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(audio)
    return buffer.getvalue()


class Timeline:
    """Pipeline events and transcript bus events, in the order they happened."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Listen to the transcript events."""
        self.entries: list[tuple[str, Any]] = []
        self.unsub = hass.bus.async_listen(EVENT_TRANSCRIPT, self._on_bus)

    @callback
    def _on_bus(self, event: Event) -> None:
        """Record a transcript event."""
        self.entries.append(("bus", dict(event.data)))

    def on_pipeline(self, event: PipelineEvent) -> None:
        """Record a pipeline event."""
        self.entries.append((str(event.type), event.data))

    @property
    def transcripts(self) -> list[dict[str, Any]]:
        """Return the transcript events."""
        return [data for kind, data in self.entries if kind == "bus"]

    def index(self, kind: str) -> int:
        """Return the position of the first entry of a kind."""
        return next(i for i, (k, _) in enumerate(self.entries) if k == kind)


def outcome(timeline: Timeline) -> str:
    """Return the recognised text of a run, or its error code."""
    for kind, data in timeline.entries:
        if kind == PipelineEventType.STT_END:
            return str(data["stt_output"]["text"])
        if kind == PipelineEventType.ERROR:
            return str(data["code"])
    msg = "the run neither ended nor failed"
    raise AssertionError(msg)


async def paced(audio: bytes) -> AsyncIterator[bytes]:
    """Yield 10 ms chunks at the pace a satellite sends them."""
    for chunk in chunks(audio):
        yield chunk
        await asyncio.sleep(0.01)


async def run_pipeline(
    hass: HomeAssistant,
    timeline: Timeline,
    audio: bytes | AsyncIterator[bytes],
    language: str = "en-US",
) -> None:
    """Run the speech-to-text stage of the preferred pipeline (bytes: as fast as taken)."""
    await async_update_pipeline(hass, async_get_pipeline(hass), stt_language=language)
    await async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=timeline.on_pipeline,
        stt_metadata=metadata(language),
        stt_stream=audio_stream(audio) if isinstance(audio, bytes) else audio,
        start_stage=PipelineStage.STT,
        end_stage=PipelineStage.STT,
    )
    await hass.async_block_till_done()


async def start_run(
    hass: HomeAssistant, stream: AsyncIterator[bytes]
) -> tuple[Timeline, asyncio.Task[None]]:
    """Start a pipeline run in the background."""
    timeline = Timeline(hass)
    task = hass.async_create_task(
        async_pipeline_from_audio_stream(
            hass,
            context=Context(),
            event_callback=timeline.on_pipeline,
            stt_metadata=metadata(),
            stt_stream=stream,
            start_stage=PipelineStage.STT,
            end_stage=PipelineStage.STT,
        )
    )
    return timeline, task


@contextlib.asynccontextmanager
async def silent_tcp_server() -> AsyncIterator[int]:
    """Accept TCP connections on 127.0.0.1 and never answer."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


FALLBACK_ID = "stt.recorder"
FALLBACK_TEXT = "Heard by the fallback."


class RecordingSpeechToText(stt.SpeechToTextEntity):
    """Another speech-to-text engine: records the audio of each run, answers a fixed text."""

    _attr_name = "Recorder"
    # Tuples where the base class has list properties: checked with `in` only.
    supported_languages = ("en-US", "de-DE")  # type: ignore[assignment]
    supported_formats = (stt.AudioFormats.WAV, stt.AudioFormats.OGG)  # type: ignore[assignment]
    supported_codecs = (stt.AudioCodecs.PCM, stt.AudioCodecs.OPUS)  # type: ignore[assignment]
    supported_bit_rates = (stt.AudioBitRates.BITRATE_16,)  # type: ignore[assignment]
    supported_sample_rates = tuple(stt.AudioSampleRates)  # type: ignore[assignment]
    supported_channels = (stt.AudioChannels.CHANNEL_MONO,)  # type: ignore[assignment]

    def __init__(self) -> None:
        """Record nothing yet."""
        self.runs: list[bytes] = []
        self.answer = stt.SpeechResult(FALLBACK_TEXT, stt.SpeechResultState.SUCCESS)
        self.started = asyncio.Event()
        self.hang = False  # never answer
        self.failure: Exception | None = None  # raise this once the audio is read
        self.cancelled = False

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        """Read the whole stream; return the answer."""
        self.started.set()
        try:
            self.runs.append(b"".join([chunk async for chunk in stream]))
            if self.hang:
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.failure is not None:
            raise self.failure
        return self.answer
