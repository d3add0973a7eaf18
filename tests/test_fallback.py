"""The fallback engine: a command survives Speechmatics failing, through the real pipeline.

The whole fault matrix runs with a fallback in test_reliability; these are the cases
around it: a user still speaking when the run fails, the end of speech when
Speechmatics was deciding it, a fallback that is missing, fails, hangs or is cancelled,
the bound on the audio held, and the option in the options flow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from typing import Any

from homeassistant.components import stt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics.const import (
    CONF_ENABLE_PARTIALS,
    CONF_END_OF_SPEECH,
    CONF_FALLBACK_STT,
    CONF_MAX_DELAY,
    CONF_MODEL,
    END_OF_SPEECH_MODES,
)
from custom_components.speechmatics.realtime import RealtimeClient
from tools.speechmatics_server import Drop, RealtimeServer, Trigger
from tools.spoken import spoken

from .common import (
    CHUNK,
    ENTITY_ID,
    FALLBACK_ID,
    FALLBACK_TEXT,
    TEXT,
    RecordingSpeechToText,
    Timeline,
    assert_no_session_tasks,
    audio_stream,
    chunks,
    held_audio,
    metadata,
    outcome,
    run_pipeline,
    speech,
    start_run,
)
from .conftest import API_KEY, FAST_OPTIONS, config_entry

pytestmark = pytest.mark.usefixtures("pipeline")

FAILED = "stt-stream-failed"


@pytest.fixture(params=END_OF_SPEECH_MODES)
def end_of_speech(request: pytest.FixtureRequest) -> str:
    """Run with Speechmatics and with Home Assistant deciding the end of speech."""
    return str(request.param)


@pytest.fixture
def fallback_option() -> str:
    """Return the fallback the options name."""
    return FALLBACK_ID


@pytest.fixture
def mock_config_entry(
    fake_speechmatics: RealtimeServer,
    recorder: RecordingSpeechToText,
    end_of_speech: str,
    fallback_option: str,
) -> MockConfigEntry:
    """Return a config entry for the fake server that falls back to the recorder."""
    return config_entry(
        fake_speechmatics.url,
        {CONF_END_OF_SPEECH: end_of_speech, CONF_FALLBACK_STT: fallback_option},
    )


async def _run(hass: HomeAssistant, audio: bytes) -> Timeline:
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, audio)
    return timeline


async def test_a_failure_while_the_user_speaks_hands_over_the_whole_command(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    recorder: RecordingSpeechToText,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test the audio held, then the rest of the satellite's stream, reach the fallback.

    The connection drops while the stream is open: the session's read is cut off in
    the middle, and no chunk may be lost or doubled at that seam.
    """
    # The last frame of the audio before the hold: the session is then waiting for
    # more of the stream when the connection drops.
    fake_speechmatics.actions[Trigger.frame(5)] = [Drop()]
    release = asyncio.Event()
    before, after = speech(0.5), speech(0.5)[::-1]
    timeline, task = await start_run(hass, held_audio(before, release, then=after))
    async with asyncio.timeout(10):
        await recorder.started.wait()
    assert not task.done()
    release.set()
    async with asyncio.timeout(10):
        await task
    assert outcome(timeline) == FALLBACK_TEXT
    assert recorder.runs == [before + after]
    assert "Speechmatics is unreachable" in caplog.text
    assert f"The fallback {FALLBACK_ID} answered" in caplog.text
    await assert_no_session_tasks()


async def _speaking_then_quiet(audio: bytes, read: list[int]) -> AsyncGenerator[bytes]:
    """Stream a command, then a quiet room that does not end (a satellite's stream)."""
    quiet = np.random.default_rng(1).normal(0, 30, 16000).astype("<i2").tobytes()
    for chunk in chunks(audio):
        read[0] += len(chunk)
        yield chunk
    async with asyncio.timeout(30):
        while True:
            for chunk in chunks(quiet):
                read[0] += len(chunk)
                yield chunk
                await asyncio.sleep(0)


@pytest.mark.parametrize("end_of_speech", ["speechmatics"])
async def test_the_fallback_ends_at_the_end_of_speech(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    recorder: RecordingSpeechToText,
) -> None:
    """Test Home Assistant's voice detection ends the fallback's audio after the words.

    With Speechmatics deciding the end of speech the pipeline runs no detection of its
    own, and a satellite's stream does not end by itself.
    """
    fake_speechmatics.http_status = 500
    command = spoken("turn on the kitchen light")
    read = [0]
    stream = _speaking_then_quiet(command, read)
    timeline, task = await start_run(hass, stream)
    async with asyncio.timeout(20):
        await task
    await stream.aclose()  # the satellite's: Home Assistant 2026.10 leaves it open
    assert outcome(timeline) == FALLBACK_TEXT
    heard = recorder.runs[0]
    # All of the command, and less than two seconds of the quiet after it.
    assert len(command) < len(heard) < len(command) + 2 * 32000
    assert heard[: len(command)] == command
    assert read[0] - len(heard) <= 2 * CHUNK


@pytest.mark.parametrize("fallback_option", ["stt.nowhere", ENTITY_ID])
async def test_a_fallback_that_is_not_there_is_skipped_and_logged_once(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
    fallback_option: str,
) -> None:
    """Test a missing fallback (or this entity itself) fails the run as without one."""
    fake_speechmatics.http_status = 500
    for _ in range(2):
        assert outcome(await _run(hass, speech(1.0))) == FAILED
    problem = "does not exist" if fallback_option != ENTITY_ID else "itself"
    lines = [r.message for r in caplog.records if "is skipped" in r.message]
    assert len(lines) == 1
    assert fallback_option in lines[0]
    assert problem in lines[0]


async def test_an_unavailable_fallback_is_skipped(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    recorder: RecordingSpeechToText,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test an unavailable fallback is not called, and is used again once it is back."""
    fake_speechmatics.http_status = 500
    recorder._attr_available = False
    recorder.async_write_ha_state()
    assert outcome(await _run(hass, speech(1.0))) == FAILED
    assert f"The fallback {FALLBACK_ID} is unavailable: it is skipped" in caplog.text
    assert recorder.runs == []
    recorder._attr_available = True
    recorder.async_write_ha_state()
    assert outcome(await _run(hass, speech(1.0))) == FALLBACK_TEXT


async def test_a_fallback_that_fails_fails_the_run(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    recorder: RecordingSpeechToText,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test an error result, or an exception, of the fallback fails the run cleanly."""
    fake_speechmatics.http_status = 500
    recorder.answer = stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert outcome(await _run(hass, speech(1.0))) == FAILED
    assert f"The fallback {FALLBACK_ID} failed too" in caplog.text
    recorder.failure = RuntimeError("broken engine")
    assert outcome(await _run(hass, speech(1.0))) == FAILED
    assert f"The fallback {FALLBACK_ID} failed" in caplog.text
    assert "Unexpected error during speech-to-text" not in caplog.text  # the pipeline's
    assert len(recorder.runs) == 2


async def test_a_fallback_that_hangs_is_bounded(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    recorder: RecordingSpeechToText,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test the fallback has the finish timeout from the end of the audio, as a session."""
    setup_integration.runtime_data.client = RealtimeClient(
        async_get_clientsession(hass),
        API_KEY,
        fake_speechmatics.url,
        sdk_id="tests",
        options=replace(FAST_OPTIONS, finish_timeout=0.3),
    )
    fake_speechmatics.http_status = 500
    recorder.hang = True
    assert outcome(await _run(hass, speech(1.0))) == FAILED
    assert f"The fallback {FALLBACK_ID} did not answer in time" in caplog.text
    assert recorder.cancelled
    assert recorder.runs == [speech(1.0)]


async def test_a_cancelled_run_cancels_the_fallback(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    recorder: RecordingSpeechToText,
) -> None:
    """Test a satellite that goes away stops the fallback too."""
    fake_speechmatics.http_status = 500
    recorder.hang = True
    _timeline, task = await start_run(hass, audio_stream(speech(1.0)))
    async with asyncio.timeout(10):
        await recorder.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.cancelled
    await assert_no_session_tasks()


@pytest.mark.parametrize("end_of_speech", ["home_assistant"])
async def test_past_the_held_audio_no_fallback_is_tried(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    recorder: RecordingSpeechToText,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test a stream longer than the audio held (the HTTP API) gets no partial fallback."""
    fake_speechmatics.actions[Trigger.END_OF_STREAM] = [Drop()]
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(
        metadata(), audio_stream(speech(31.0))
    )
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert "No fallback: the audio was longer than the 30 s held for one" in caplog.text
    assert recorder.runs == []


@pytest.mark.parametrize("end_of_speech", ["home_assistant"])
async def test_a_failing_audio_stream_gets_no_fallback(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    recorder: RecordingSpeechToText,
) -> None:
    """Test the fallback is for Speechmatics' failures, not for a broken audio source."""

    async def broken() -> AsyncIterator[bytes]:
        yield speech(0.5)
        msg = "microphone gone"
        raise OSError(msg)

    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(metadata(), broken())
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert recorder.runs == []


async def test_a_run_that_succeeds_does_not_touch_the_fallback(
    hass: HomeAssistant, recorder: RecordingSpeechToText
) -> None:
    """Test the fallback is only for failures."""
    timeline = await _run(hass, speech(2.0))
    assert outcome(timeline) == TEXT
    assert timeline.transcripts[-1]["engine"] == "speechmatics"
    assert recorder.runs == []


@pytest.mark.parametrize("end_of_speech", ["speechmatics"])
async def test_the_options_flow_offers_other_engines(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Test the fallback is chosen among stt entities other than this one, or none."""
    entry = setup_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"].schema
    selector = next(v for k, v in schema.items() if str(k) == CONF_FALLBACK_STT)
    config = selector.config
    assert config["domain"] == ["stt"]
    assert config["exclude_entities"] == [ENTITY_ID]
    suggested = {
        str(key): (key.description or {}).get("suggested_value") for key in schema
    }
    assert suggested[CONF_FALLBACK_STT] == FALLBACK_ID

    base: dict[str, Any] = {
        CONF_MODEL: "enhanced",
        CONF_MAX_DELAY: 0.7,
        CONF_ENABLE_PARTIALS: True,
    }
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**base, CONF_FALLBACK_STT: ENTITY_ID}
        )
    result = await hass.config_entries.options.async_configure(result["flow_id"], base)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_FALLBACK_STT not in entry.options  # none
    assert entry.state is ConfigEntryState.LOADED


async def test_a_run_past_the_session_limit_is_answered_by_the_fallback(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    recorder: RecordingSpeechToText,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test too many sessions at once (the connection pool's limit) falls back too."""
    setup_integration.runtime_data.client = RealtimeClient(
        async_get_clientsession(hass),
        API_KEY,
        fake_speechmatics.url,
        sdk_id="tests",
        options=FAST_OPTIONS,
        max_sessions=1,
    )
    release = asyncio.Event()
    first, task = await start_run(hass, held_audio(speech(1.0), release))
    await fake_speechmatics.wait_open(1)
    second, second_task = await start_run(hass, audio_stream(speech(0.5)))
    async with asyncio.timeout(10):
        await second_task
    assert outcome(second) == FALLBACK_TEXT
    assert recorder.runs == [speech(0.5)]
    assert "too many sessions at once: 1 are open already" in caplog.text
    release.set()
    async with asyncio.timeout(10):
        await task
    assert outcome(first) == TEXT
    await assert_no_session_tasks()
