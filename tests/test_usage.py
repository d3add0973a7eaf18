"""The usage sensors: audio transcribed, sessions, failures and response time.

Runs go through Home Assistant's real pipeline to the fake server, whose records say
how much audio Speechmatics received; the sensors must add up to exactly that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import time

from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_restore_state_shutdown_restart,
)

from custom_components.speechmatics.const import (
    CONF_END_OF_SPEECH,
    DOMAIN,
    END_OF_SPEECH_HOME_ASSISTANT,
    END_OF_SPEECH_SPEECHMATICS,
)
from tools.speechmatics_server import RealtimeServer, Trigger, error

from .common import TEXT, Timeline, chunks, outcome, run_pipeline, speech, start_run
from .conftest import ENTRY_ID, config_entry

pytestmark = pytest.mark.usefixtures("pipeline")

SECOND = 32000
QUIET = 0.3
KEYS = ("audio_transcribed", "sessions", "failed_sessions", "response_time")


@pytest.fixture
def mock_config_entry(fake_speechmatics: RealtimeServer) -> MockConfigEntry:
    """Return an entry where Home Assistant ends the audio: all of it is sent."""
    return config_entry(
        fake_speechmatics.url, {CONF_END_OF_SPEECH: END_OF_SPEECH_HOME_ASSISTANT}
    )


def _entity_id(hass: HomeAssistant, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{ENTRY_ID}_{key}"
    )
    assert entity_id is not None, key
    return entity_id


def _value(hass: HomeAssistant, key: str) -> float | None:
    state = hass.states.get(_entity_id(hass, key))
    assert state is not None
    return None if state.state == "unknown" else float(state.state)


def _audio_seconds(hass: HomeAssistant) -> float:
    """Return the audio-transcribed sensor's value (shown in minutes) in seconds."""
    minutes = _value(hass, "audio_transcribed")
    assert minutes is not None
    return minutes * 60


def _received(fake: RealtimeServer) -> float:
    """Return the seconds of audio the server received, over every session."""
    return sum(len(record.audio) for record in fake.sessions) / SECOND


async def test_sensors_describe_themselves(hass: HomeAssistant) -> None:
    """Test the sensors are diagnostic, start unknown, and have units for statistics."""
    registry = er.async_get(hass)
    for key in KEYS:
        entry = registry.async_get(_entity_id(hass, key))
        assert entry is not None
        assert entry.entity_category is EntityCategory.DIAGNOSTIC
        assert entry.translation_key == key
        assert _value(hass, key) is None
    audio = hass.states.get(_entity_id(hass, "audio_transcribed"))
    assert audio is not None
    assert audio.attributes["unit_of_measurement"] == "min"
    assert audio.attributes["state_class"] == "total_increasing"
    response = hass.states.get(_entity_id(hass, "response_time"))
    assert response is not None
    assert response.attributes["unit_of_measurement"] == "ms"
    assert response.attributes["state_class"] == "measurement"


async def test_runs_and_failures_add_up(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test two successful runs and a failed one: exactly the audio received."""
    await run_pipeline(hass, Timeline(hass), speech(2.0))
    first_response = _value(hass, "response_time")
    assert first_response is not None
    assert first_response > 0

    fake_speechmatics.actions[Trigger.frame(3)] = error("job_error")
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(1.0))
    assert outcome(timeline) == "stt-stream-failed"
    assert _value(hass, "failed_sessions") == 1
    assert _value(hass, "response_time") == first_response  # a failure has none

    fake_speechmatics.clear_faults()
    await run_pipeline(hass, Timeline(hass), speech(3.0))
    assert _value(hass, "sessions") == 3
    assert _value(hass, "failed_sessions") == 1
    assert _audio_seconds(hass) == pytest.approx(_received(fake_speechmatics))
    assert _received(fake_speechmatics) > 5.0  # the failed run's audio counts too


async def test_an_early_answer_counts_the_audio_sent(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Test Speechmatics ending the turn: the audio counted is all the server gets.

    The satellite would stream 30 s; the answer comes at the end of the turn, with
    acknowledgements still on their way, and the session ends in the background.
    """
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_END_OF_SPEECH: END_OF_SPEECH_SPEECHMATICS}
    )
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(30.0))
    assert outcome(timeline) == TEXT
    await fake_speechmatics.wait_closed()
    assert 0 < _audio_seconds(hass) < 30
    assert _audio_seconds(hass) == pytest.approx(_received(fake_speechmatics))


async def test_response_time_counts_from_the_last_word(hass: HomeAssistant) -> None:
    """Test the response time runs from the last word, not from the end of the audio.

    The satellite streams the command, then the room is quiet for QUIET seconds before
    the stream ends: the user waited at least that long for the answer.
    """
    read_at: list[float] = []

    async def satellite() -> AsyncIterator[bytes]:
        read_at.append(time.monotonic())
        for chunk in chunks(speech(2.0)):
            yield chunk
        await asyncio.sleep(QUIET)  # the room, quiet after the command

    _timeline, task = await start_run(hass, satellite())
    async with asyncio.timeout(10):
        await task
    done_at = time.monotonic()
    response = _value(hass, "response_time")
    assert response is not None
    assert QUIET <= response / 1000 <= done_at - read_at[0]


async def test_figures_survive_a_restart(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test the figures are stored at shutdown, restored at start, and go on adding up."""
    await run_pipeline(hass, Timeline(hass), speech(2.0))
    before = {key: _value(hass, key) for key in KEYS}
    assert before["sessions"] == 1

    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    await async_mock_restore_state_shutdown_restart(hass)
    assert await hass.config_entries.async_setup(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert {key: _value(hass, key) for key in KEYS} == before

    await run_pipeline(hass, Timeline(hass), speech(3.0))
    assert _value(hass, "sessions") == 2
    assert _value(hass, "failed_sessions") == 0
    assert _audio_seconds(hass) == pytest.approx(_received(fake_speechmatics))

    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert _value(hass, "sessions") == 2
