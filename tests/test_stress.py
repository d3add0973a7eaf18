"""Load and endurance: many runs at once, and thousands in a row, on loopback only.

Both are bounded in count and time. Speed is measured by scripts/bench, not here:
these tests assert correctness and that no resource grows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import gc
import logging
import os
from pathlib import Path
import tracemalloc

from homeassistant.components.assist_pipeline import (
    PipelineStage,
    async_pipeline_from_audio_stream,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.aiohttp_client import MAXIMUM_CONNECTIONS_PER_HOST
import pytest

from tools.speechmatics_server import (
    Drop,
    EncodedRecognizer,
    RealtimeServer,
    SendJson,
    SendText,
    encode_words,
    error,
)

from .common import (
    TEXT,
    Timeline,
    assert_no_session_tasks,
    chunks,
    metadata,
    paced,
    speech,
)
from .test_reliability import outcome

pytestmark = [pytest.mark.stress, pytest.mark.usefixtures("pipeline")]

VOCABULARY = [
    "turn", "on", "off", "the", "kitchen", "bedroom", "light", "fan", "heating", "set",
    "to", "twenty", "percent", "open", "close", "garage", "door", "lock", "front", "blinds",
]  # fmt: skip
CONCURRENT_RUNS = 50
SEQUENTIAL_RUNS = int(os.environ.get("STRESS_RUNS", "2000"))
WARM_UP_RUNS = SEQUENTIAL_RUNS // 10
# Measured: about 0.3 MB of traced growth over 1800 runs, all of it Home Assistant's
# own bounded caches; a leak of one session object per run would exceed this.
MAX_MEMORY_GROWTH = 2 * 1024 * 1024


async def run_once(
    hass: HomeAssistant,
    stream: AsyncIterator[bytes],
    conversation_id: str | None = None,
) -> Timeline:
    """Run the speech-to-text stage of the pipeline."""
    timeline = Timeline(hass)
    try:
        await async_pipeline_from_audio_stream(
            hass,
            context=Context(),
            event_callback=timeline.on_pipeline,
            stt_metadata=metadata(),
            stt_stream=stream,
            conversation_id=conversation_id,
            start_stage=PipelineStage.STT,
            end_stage=PipelineStage.STT,
        )
    finally:
        timeline.unsub()
    return timeline


async def test_fifty_runs_at_once(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test 50 real-time runs at once each get their own transcript, none waiting on another."""
    fake_speechmatics.recognizer = lambda _start: EncodedRecognizer(VOCABULARY)
    fake_speechmatics.session_id = "session-{n}"
    fake_speechmatics.max_open_connections = 0
    # The first two words spell the run's number: every run says something different.
    spoken = [
        [run % 20, run // 20, (run * 3) % 20, (run * 7 + 1) % 20, (run + 5) % 20]
        for run in range(CONCURRENT_RUNS)
    ]
    timelines = await asyncio.gather(
        *(run_once(hass, paced(encode_words(words))) for words in spoken)
    )
    expected = [" ".join(VOCABULARY[index] for index in words) for words in spoken]
    assert [outcome(timeline) for timeline in timelines] == expected
    assert len(set(expected)) == CONCURRENT_RUNS
    # Every run was connected at the same moment as every other: none waited.
    assert fake_speechmatics.max_open_connections == CONCURRENT_RUNS
    for timeline, text in zip(timelines, expected, strict=True):
        sessions = {event["session_id"] for event in timeline.transcripts}
        assert len(sessions) == 1
        finals = [event["text"] for event in timeline.transcripts if event["is_final"]]
        # Other runs' events reach every listener; each session's own final is its text.
        assert text in finals
    await fake_speechmatics.wait_closed()
    await assert_no_session_tasks()


async def held(release: asyncio.Event) -> AsyncIterator[bytes]:
    """Stream a second of audio, then hold the stream open like a user still speaking."""
    for chunk in chunks(speech(1.0)):
        yield chunk
    async with asyncio.timeout(30):
        await release.wait()


async def test_more_runs_than_the_connection_pool_allows(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test the run past Home Assistant's 100 connections per host fails clearly, at once.

    It must not wait for a connection and then be reported as an outage: the service
    is reachable, the runs already open go on, and the next run after them works.
    """
    release = asyncio.Event()
    runs = [
        asyncio.create_task(run_once(hass, held(release)))
        for _ in range(MAXIMUM_CONNECTIONS_PER_HOST)
    ]
    await fake_speechmatics.wait_open(MAXIMUM_CONNECTIONS_PER_HOST, seconds=30)
    async with asyncio.timeout(2):  # at once: not after the 5 s connect timeout
        assert outcome(await run_once(hass, paced(speech(0.5)))) == "stt-stream-failed"
    assert "too many sessions at once: 100 are open already" in caplog.text
    assert "unreachable" not in caplog.text
    release.set()
    assert [outcome(timeline) for timeline in await asyncio.gather(*runs)] == [
        TEXT
    ] * MAXIMUM_CONNECTIONS_PER_HOST
    await fake_speechmatics.wait_closed(seconds=30)
    await assert_no_session_tasks()
    assert outcome(await run_once(hass, paced(speech(2.0)))) == TEXT


FAULTS = [
    ("refused", lambda fake: setattr(fake, "http_status", 500)),
    ("error", lambda fake: fake.actions.__setitem__("frame:2", error("job_error"))),
    ("drop", lambda fake: fake.actions.__setitem__("frame:3", [Drop()])),
    ("malformed", lambda fake: fake.actions.__setitem__("frame:2", [SendText("{")])),
    (
        "unknown",
        lambda fake: fake.actions.__setitem__(
            "frame:2", [SendJson({"message": "New"})]
        ),
    ),
]


def traced_memory() -> int:
    """Return the traced memory, leaving out log records and the test's own fake server."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(
                inclusive=False, filename_pattern="*/logging/__init__.py"
            ),
            tracemalloc.Filter(inclusive=False, filename_pattern="*/_pytest/*"),
            tracemalloc.Filter(inclusive=False, filename_pattern="*/tests/*"),
        ]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def open_files() -> int:
    """Return how many file descriptors this process has open (sockets included)."""
    return len(list(Path("/proc/self/fd").iterdir()))


async def test_two_thousand_sessions_in_a_row(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test sessions with faults mixed in leak no socket, task or memory."""
    # As in production: no asyncio debug mode (it keeps a traceback per callback),
    # no debug logging, no access log of the fake server.
    asyncio.get_running_loop().set_debug(False)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.WARNING, "aiohttp.access")
    audio = speech(0.5)
    baseline: tuple[int, int, int] | None = None
    tracemalloc.start()
    try:
        for number in range(SEQUENTIAL_RUNS):
            fake_speechmatics.clear_faults()
            fault = FAULTS[number // 10 % len(FAULTS)] if number % 10 == 9 else None
            if fault is not None:
                fault[1](fake_speechmatics)
            timeline = await run_once(hass, paced_none(audio), conversation_id="stress")
            if fault is None or fault[0] == "unknown":
                assert outcome(timeline) == TEXT, number
            else:
                assert outcome(timeline) == "stt-stream-failed", number
            await fake_speechmatics.wait_closed()
            # The fake keeps every frame it received; only the client is under test.
            fake_speechmatics.sessions.clear()
            if number + 1 == WARM_UP_RUNS:
                await assert_no_session_tasks()
                gc.collect()
                baseline = (open_files(), len(asyncio.all_tasks()), traced_memory())
        await fake_speechmatics.wait_closed()
        await assert_no_session_tasks()
        gc.collect()
        end = (open_files(), len(asyncio.all_tasks()), traced_memory())
    finally:
        tracemalloc.stop()
    assert baseline is not None
    assert end[0] <= baseline[0], "open sockets or files grew"
    assert end[1] <= baseline[1], "asyncio tasks grew"
    assert end[2] - baseline[2] < MAX_MEMORY_GROWTH, (
        f"memory grew by {end[2] - baseline[2]} bytes"
    )
    await assert_no_session_tasks()
    print(  # noqa: T201  # for the record; scripts/bench measures speed without tracemalloc
        f"\n{SEQUENTIAL_RUNS} runs: traced memory growth after warm-up "
        f"{(end[2] - baseline[2]) / 1024:.0f} KiB"
    )


async def paced_none(audio: bytes) -> AsyncIterator[bytes]:
    """Yield 10 ms chunks as fast as they are taken."""
    for chunk in chunks(audio):
        yield chunk
