"""The latency, CPU and memory the integration adds, side by side with the official SDK.

Run by scripts/bench through pytest, for its Home Assistant test harness (see the README,
"Performance"); tests/test_bench_smoke.py runs it with tiny counts. Both clients talk to
the same protocol server, which runs in a process of its own so that its work is not
counted.
Ours is measured through the real STT entity in a real Home Assistant; the SDK
(speechmatics-rt) does the same session with the same 10 ms / 320-byte chunks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
from dataclasses import dataclass
import json
import logging
import os
from pathlib import Path
import socket
import statistics
import sys
import time
import tracemalloc
from typing import Any, Self

import aiohttp
from homeassistant.components import stt
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import Event, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from speechmatics.rt import (
    AsyncClient,
    AudioEncoding,
    AudioFormat,
    ServerMessageType,
    TranscriptionConfig,
)

from custom_components.speechmatics.const import DOMAIN, EVENT_TRANSCRIPT

API_KEY = "bench-key"
ENTITY_ID = "stt.speechmatics_127_0_0_1_speech_to_text"
CHUNK = 320  # Home Assistant's 10 ms of 16 kHz 16-bit mono
CHUNK_SECONDS = 0.01
# The fake server's fixed time from EndOfStream to EndOfTranscript.
END_DELAY = 0.02
TRANSCRIPT = "turn on the kitchen light and set the heating to twenty degrees"


@dataclass
class Counts:
    """How much to measure; scripts/bench uses the defaults, the smoke test tiny ones."""

    finish_runs: int = 200
    finish_repeats: int = 3
    start_runs: int = 20
    start_delays: tuple[float, ...] = (0.0, 0.1, 0.3, 1.0)
    partial_runs: int = 10
    cpu_levels: tuple[int, ...] = (1, 10, 50, 100)
    cpu_seconds: float = 2.0
    cpu_repeats: int = 3
    memory_sessions: int = 50

    @classmethod
    def from_environment(cls) -> Counts:
        """Return counts, scaled by BENCH_SCALE (for example 0.1 for a quick look)."""
        scale = float(os.environ.get("BENCH_SCALE", "1"))
        counts = cls()
        counts.finish_runs = max(3, round(counts.finish_runs * scale))
        counts.start_runs = max(2, round(counts.start_runs * scale))
        counts.partial_runs = max(2, round(counts.partial_runs * scale))
        counts.cpu_repeats = max(1, round(counts.cpu_repeats * scale))
        counts.finish_repeats = max(1, round(counts.finish_repeats * scale))
        return counts


def speech(seconds: float) -> bytes:
    """Return audio of the given length (a ramp)."""
    return bytes(i % 251 for i in range(int(32000 * seconds)))


def chunks(audio: bytes) -> Iterator[bytes]:
    """Split audio as Home Assistant does, a chunk at a time (a list would be counted)."""
    for start in range(0, len(audio), CHUNK):
        yield audio[start : start + CHUNK]


def metadata() -> stt.SpeechMetadata:
    """Return the metadata of pipeline audio."""
    return stt.SpeechMetadata(
        language="en-US",
        format=stt.AudioFormats.WAV,
        codec=stt.AudioCodecs.PCM,
        bit_rate=stt.AudioBitRates.BITRATE_16,
        sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
        channel=stt.AudioChannels.CHANNEL_MONO,
    )


class ServerProcess:
    """A Realtime server in a process of its own: the scripted one, or another module."""

    def __init__(
        self,
        *command: str,
    ) -> None:
        """Not started yet; command is `-m` and its arguments (the fake server's by default)."""
        self.command = command or (
            "tools.speechmatics_server",
            "--api-key",
            API_KEY,
            "--transcript",
            TRANSCRIPT,
        )
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self.base = ""
        self._backlog: list[dict[str, Any]] = []

    async def __aenter__(self) -> Self:
        """Start the server and read its URL (the first line it prints)."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *self.command,
            stdout=asyncio.subprocess.PIPE,
            cwd=Path(__file__).parents[1],
        )
        assert self.process.stdout is not None
        async with asyncio.timeout(60):
            self.url = (await self.process.stdout.readline()).decode().strip()
        self.base = self.url.replace("ws://", "http://").removesuffix("/v2")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server."""
        assert self.process is not None
        self.process.terminate()
        async with asyncio.timeout(10):
            await self.process.wait()

    async def configure(self, http: aiohttp.ClientSession, **config: Any) -> None:
        """Change how the server behaves."""
        async with http.post(f"{self.base}/_config", json=config) as response:
            response.raise_for_status()

    async def records(
        self, http: aiohttp.ClientSession, count: int = 1
    ) -> list[dict[str, Any]]:
        """Return the next `count` finished sessions, oldest first."""
        for _ in range(2000):
            if len(self._backlog) >= count:
                taken, self._backlog = self._backlog[:count], self._backlog[count:]
                return taken
            async with http.get(f"{self.base}/_records") as response:
                self._backlog.extend(await response.json())
            if len(self._backlog) < count:
                await asyncio.sleep(0.005)  # sessions close a moment after the result
        msg = f"the fake server recorded fewer than {count} finished sessions"
        raise AssertionError(msg)


async def paced(audio: bytes, ended: list[float] | None = None) -> AsyncIterator[bytes]:
    """Yield 10 ms chunks in real time, as a satellite does; note when the stream ended."""
    start = time.monotonic()
    for index, chunk in enumerate(chunks(audio)):
        delay = start + index * CHUNK_SECONDS - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield chunk
    if ended is not None:
        ended.append(time.monotonic())


class Ours:
    """Sessions through the Speechmatics STT entity in Home Assistant."""

    name = "integration"

    def __init__(self, hass: HomeAssistant) -> None:
        """Use the entity of the loaded entry."""
        entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
        assert entity is not None
        self.entity = entity
        self.hass = hass

    async def session(
        self,
        audio: bytes,
        ended: list[float],
        on_partial: Callable[[str], None] | None = None,
    ) -> str | None:
        """Transcribe paced audio; return the text."""
        unsubscribe = None
        if on_partial is not None:

            @callback
            def _partial(event: Event) -> None:
                if not event.data["is_final"]:
                    on_partial(event.data["text"])

            unsubscribe = self.hass.bus.async_listen(EVENT_TRANSCRIPT, _partial)
        try:
            result = await self.entity.async_process_audio_stream(
                metadata(), paced(audio, ended)
            )
        finally:
            if unsubscribe is not None:
                unsubscribe()
        return result.text


class Sdk:
    """The same sessions with the official speechmatics-rt SDK."""

    name = "speechmatics-rt"

    def __init__(self, url: str) -> None:
        """Talk to the fake server."""
        self.url = url

    async def session(
        self,
        audio: bytes,
        ended: list[float],
        on_partial: Callable[[str], None] | None = None,
    ) -> str | None:
        """Transcribe paced audio the SDK way: start, send what was buffered, stop."""
        finals: list[str] = []
        buffered: list[bytes] = []
        stream = paced(audio, ended)
        producer_done = asyncio.Event()

        async def produce() -> None:
            async for chunk in stream:
                buffered.append(chunk)
                sending.set()
            producer_done.set()
            sending.set()

        sending = asyncio.Event()
        producer = asyncio.create_task(produce())
        try:
            async with AsyncClient(api_key=API_KEY, url=self.url) as client:
                client.on(
                    ServerMessageType.ADD_TRANSCRIPT,
                    lambda message: finals.append(message["metadata"]["transcript"]),
                )
                if on_partial is not None:
                    client.on(
                        ServerMessageType.ADD_PARTIAL_TRANSCRIPT,
                        lambda message: on_partial(message["metadata"]["transcript"]),
                    )
                await client.start_session(
                    transcription_config=TranscriptionConfig(
                        language="en", enable_partials=True
                    ),
                    audio_format=AudioFormat(
                        encoding=AudioEncoding.PCM_S16LE, sample_rate=16000
                    ),
                )
                while True:
                    while buffered:
                        await client.send_audio(buffered.pop(0))
                    if producer_done.is_set():
                        break
                    sending.clear()
                    await sending.wait()
                async with asyncio.timeout(30):
                    await client.stop_session()
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
        return "".join(finals).strip()


class Floor:
    """The least any client can do: a yardstick for the machine, not a product.

    One WebSocket and nothing else: 100 ms frames as they fill, the last frame and
    EndOfStream in one segment, done at EndOfTranscript, the socket closed after. No
    Home Assistant, no checks, no events; measured for the finish overhead only.
    """

    name = "floor"

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        """Talk to the fake server."""
        self.url = url
        self.http = http
        self._closing: asyncio.Task[Any] | None = None

    async def session(self, audio: bytes, ended: list[float]) -> str | None:
        """Stream paced audio, end the stream, wait for EndOfTranscript."""
        await self.aclose()  # the previous session's close, outside the timing
        async with asyncio.timeout(30):
            ws = await self.http.ws_connect(
                self.url, headers={"Authorization": f"Bearer {API_KEY}"}
            )
            await ws.send_json(
                {
                    "message": "StartRecognition",
                    "audio_format": {
                        "type": "raw",
                        "encoding": "pcm_s16le",
                        "sample_rate": 16000,
                    },
                    "transcription_config": {"language": "en", "enable_partials": True},
                }
            )
            while (await ws.receive_json())["message"] != "RecognitionStarted":
                pass
            transcript = asyncio.create_task(self._until_end(ws))
            pending, frames = bytearray(), 0
            async for chunk in paced(audio, ended):
                pending += chunk
                if len(pending) >= 3200:
                    await ws.send_bytes(bytes(pending))
                    pending.clear()
                    frames += 1
            sock = ws.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            if pending:
                await ws.send_bytes(bytes(pending))
                frames += 1
            await ws.send_json({"message": "EndOfStream", "last_seq_no": frames})
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
            text = await transcript
        self._closing = asyncio.create_task(ws.close())
        return text

    async def aclose(self) -> None:
        """Wait for the last session's socket to close."""
        if self._closing is not None:
            await self._closing

    @staticmethod
    async def _until_end(ws: aiohttp.ClientWebSocketResponse) -> str:
        """Collect the finals until EndOfTranscript."""
        finals = []
        while (message := await ws.receive_json())["message"] != "EndOfTranscript":
            if message["message"] == "AddTranscript":
                finals.append(message["metadata"]["transcript"])
        return "".join(finals)


def percentiles(values: list[float]) -> dict[str, float]:
    """Return p50, p95 and p99 in milliseconds."""
    ordered = sorted(values)

    def pick(fraction: float) -> float:
        return (
            ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000
        )

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "runs": len(values)}


async def measure_finish(
    client: Any,
    server: ServerProcess,
    http: aiohttp.ClientSession,
    runs: int,
    repeats: int,
) -> dict[str, float]:
    """From the end of the audio stream to the result, less the server's own EndOfStream time.

    Each percentile is the median of its value in `repeats` sets of `runs` sessions.
    """
    await server.configure(
        http, start_delay=0, end_delay=END_DELAY, transcript=TRANSCRIPT, final_every=3
    )
    audio = speech(0.1)
    sets = []
    for _ in range(repeats):
        overheads = []
        for _ in range(runs):
            ended: list[float] = []
            text = await client.session(audio, ended)
            returned = time.monotonic()
            assert text, f"{client.name} got no transcript"
            (record,) = await server.records(http)
            server_time = record["end_of_transcript_at"] - record["end_of_stream_at"]
            overheads.append(returned - ended[0] - server_time)
        sets.append(percentiles(overheads))
    return {key: statistics.median(figures[key] for figures in sets) for key in sets[0]}


async def measure_start(
    client: Any,
    server: ServerProcess,
    http: aiohttp.ClientSession,
    runs: int,
    delays: tuple[float, ...],
) -> dict[str, Any]:
    """From the call to the first frame on the wire, less the server's start delay; bytes lost."""
    figures: dict[str, Any] = {}
    audio = speech(0.3)
    for delay in delays:
        await server.configure(http, start_delay=delay, end_delay=0)
        overheads, lost = [], 0
        for _ in range(runs):
            called = time.monotonic()
            await client.session(audio, [])
            (record,) = await server.records(http)
            overheads.append(record["first_audio_at"] - called - delay)
            lost += len(audio) - record["audio_bytes"]
        figures[f"{delay:g}"] = {**percentiles(overheads), "bytes_lost": lost}
    await server.configure(http, start_delay=0)
    return figures


def _noter(seen: list[tuple[float, int]]) -> Callable[[str], None]:
    """Return a callback that notes when it is shown a text, and the text's words."""
    return lambda text: seen.append((time.monotonic(), len(text.split())))


async def measure_partials(
    client: Any, server: ServerProcess, http: aiohttp.ClientSession, runs: int
) -> dict[str, float]:
    """From the server sending a partial to the client first showing its text.

    Partial k of the script is its first k words (no final comes before the end), so
    an event shows partial k when its text has k words or more: a partial the
    integration's events coalesced counts until the later event that carries it.
    Also returns how many events a partial sent gave.
    """
    await server.configure(
        http, transcript=TRANSCRIPT, final_every=1000, bytes_per_word=3200
    )
    latencies: list[float] = []
    events = partials = 0
    for _ in range(runs):
        seen: list[tuple[float, int]] = []
        await client.session(speech(1.5), [], _noter(seen))
        (record,) = await server.records(http)
        sent = record["partials_sent_at"]
        events += len(seen)
        partials += len(sent)
        for words, at in enumerate(sent, start=1):
            shown = [stamp for stamp, count in seen if count >= words]
            assert shown, f"{client.name} never showed partial {words}"
            latencies.append(shown[0] - at)
    await server.configure(http, transcript=TRANSCRIPT, final_every=3)
    return {**percentiles(latencies), "events_per_partial": events / partials}


async def _harness_cpu(audio: bytes, level: int) -> float:
    """Return the CPU seconds the paced streams cost on their own, with no client."""

    async def consume() -> None:
        async for _chunk in paced(audio):
            pass

    cpu = time.process_time()
    await asyncio.gather(*(consume() for _ in range(level)))
    return time.process_time() - cpu


async def measure_cpu(
    client: Any,
    server: ServerProcess,
    http: aiohttp.ClientSession,
    levels: tuple[int, ...],
    seconds: float,
    repeats: int,
) -> dict[str, float]:
    """CPU ms per second of audio per session, at each number of sessions at once.

    The CPU of the paced streams themselves (the satellite's side) is left out.
    """
    audio = speech(seconds)
    figures = {}
    for level in levels:
        samples = []
        for _ in range(repeats):
            harness = await _harness_cpu(audio, level)
            cpu = time.process_time()
            await asyncio.gather(*(client.session(audio, []) for _ in range(level)))
            used = time.process_time() - cpu - harness
            samples.append(used * 1000 / (level * seconds))
            await server.records(http, level)
        figures[str(level)] = statistics.median(samples)
    return figures


async def measure_memory(
    client: Any, server: ServerProcess, http: aiohttp.ClientSession, sessions: int
) -> float:
    """Traced memory per session while that many sessions stream at once, in KiB."""
    audio = speech(2.0)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        runs = [
            asyncio.ensure_future(client.session(audio, [])) for _ in range(sessions)
        ]
        await asyncio.sleep(1.0)  # half-way through every session
        during = tracemalloc.get_traced_memory()[0]
        await asyncio.gather(*runs)
    finally:
        tracemalloc.stop()
    await server.records(http, sessions)
    return (during - baseline) / sessions / 1024


async def measure_endurance(
    client: Any, server: ServerProcess, http: aiohttp.ClientSession, runs: int
) -> dict[str, float]:
    """Median duration of the first and the last tenth of many sessions in a row."""
    audio = speech(0.1)
    durations = []
    for _ in range(runs):
        started = time.monotonic()
        await client.session(audio, [])
        durations.append(time.monotonic() - started)
        await server.records(http)
    tenth = max(1, runs // 10)
    first = statistics.median(durations[:tenth]) * 1000
    last = statistics.median(durations[-tenth:]) * 1000
    return {"first_ms": first, "last_ms": last, "runs": runs}


async def run_benchmark(hass: HomeAssistant, counts: Counts) -> dict[str, Any]:
    """Measure both clients; return the figures."""
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    results: dict[str, Any] = {}
    async with ServerProcess() as server, aiohttp.ClientSession() as http:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Speechmatics (127.0.0.1)",
            data={CONF_API_KEY: API_KEY, CONF_URL: server.url},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await server.records(http)
        clients = [Ours(hass), Sdk(server.url)]
        for client in clients:
            results[client.name] = figures = {}
            figures["finish_overhead_ms"] = await measure_finish(
                client, server, http, counts.finish_runs, counts.finish_repeats
            )
            figures["start_overhead_ms"] = await measure_start(
                client, server, http, counts.start_runs, counts.start_delays
            )
            figures["partial_latency_ms"] = await measure_partials(
                client, server, http, counts.partial_runs
            )
            figures["cpu_ms_per_audio_second"] = await measure_cpu(
                client,
                server,
                http,
                counts.cpu_levels,
                counts.cpu_seconds,
                counts.cpu_repeats,
            )
            figures["memory_kib_per_session"] = await measure_memory(
                client, server, http, counts.memory_sessions
            )
            figures["endurance"] = await measure_endurance(
                client, server, http, counts.finish_runs
            )
        floor = Floor(server.url, http)
        results[floor.name] = {
            "finish_overhead_ms": await measure_finish(
                floor, server, http, counts.finish_runs, counts.finish_repeats
            )
        }
        await floor.aclose()
        assert await hass.config_entries.async_unload(entry.entry_id)
    return results


def table(results: dict[str, Any]) -> str:
    """Return the figures as a Markdown table: ours, the SDK's, and the ratio."""
    ours, sdk = results["integration"], results["speechmatics-rt"]
    rows: list[tuple[str, float, float]] = [
        (
            f"finish overhead {key} (ms)",
            ours["finish_overhead_ms"][key],
            sdk["finish_overhead_ms"][key],
        )
        for key in ("p50", "p95", "p99")
    ]
    for delay, figure in ours["start_overhead_ms"].items():
        other = sdk["start_overhead_ms"][delay]
        rows.append(
            (
                f"start overhead p50, start delay {delay} s (ms)",
                figure["p50"],
                other["p50"],
            )
        )
        rows.append(
            (
                f"audio bytes lost, start delay {delay} s",
                figure["bytes_lost"],
                other["bytes_lost"],
            )
        )
    rows.extend(
        (
            f"partial latency {key} (ms)",
            ours["partial_latency_ms"][key],
            sdk["partial_latency_ms"][key],
        )
        for key in ("p50", "p95")
    )
    rows.append(
        (
            "partial events per partial sent",
            ours["partial_latency_ms"]["events_per_partial"],
            sdk["partial_latency_ms"]["events_per_partial"],
        )
    )
    rows.extend(
        (
            f"CPU ms per audio second, {level} sessions",
            figure,
            sdk["cpu_ms_per_audio_second"][level],
        )
        for level, figure in ours["cpu_ms_per_audio_second"].items()
    )
    rows.append(
        (
            "memory per session (KiB)",
            ours["memory_kib_per_session"],
            sdk["memory_kib_per_session"],
        )
    )
    rows.append(
        (
            "session duration, first tenth (ms)",
            ours["endurance"]["first_ms"],
            sdk["endurance"]["first_ms"],
        )
    )
    rows.append(
        (
            "session duration, last tenth (ms)",
            ours["endurance"]["last_ms"],
            sdk["endurance"]["last_ms"],
        )
    )
    lines = [
        "| figure | integration | speechmatics-rt | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, mine, theirs in rows:
        ratio = f"{mine / theirs:.2f}" if theirs else "-"
        lines.append(f"| {name} | {mine:.2f} | {theirs:.2f} | {ratio} |")
    floor = results["floor"]["finish_overhead_ms"]
    lines += [
        "",
        "| finish overhead (ms) | integration | bare WebSocket floor | above the floor |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key in ("p50", "p95", "p99"):
        mine = ours["finish_overhead_ms"][key]
        lines.append(
            f"| {key} | {mine:.2f} | {floor[key]:.2f} | {mine - floor[key]:.2f} |"
        )
    return "\n".join(lines)


@pytest.mark.usefixtures("socket_enabled", "enable_custom_integrations")
async def test_benchmark(hass: HomeAssistant) -> None:
    """Run the benchmark, print the table and write the JSON (scripts/bench)."""
    results = await run_benchmark(hass, Counts.from_environment())
    output = Path(os.environ.get("BENCH_OUTPUT", "bench-results.json"))
    await asyncio.to_thread(output.write_text, json.dumps(results, indent=2) + "\n")
    print("\n" + table(results) + f"\n\nFigures written to {output}")
