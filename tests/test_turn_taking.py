"""Turn-taking through the real assist pipeline: who ends the command, and how soon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from homeassistant.components.assist_pipeline import (
    PipelineEvent,
    PipelineEventType,
    PipelineStage,
    async_pipeline_from_audio_stream,
)
from homeassistant.core import Context, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics.const import (
    CONF_END_OF_SPEECH,
    CONF_END_OF_UTTERANCE_SILENCE,
)
from tools.speechmatics_server import RealtimeServer, SendJson, Trigger, scripted

from .common import (
    ENTITY_ID,
    TEXT,
    Timeline,
    assert_closed,
    chunks,
    metadata,
    outcome,
    speech,
)

pytestmark = pytest.mark.usefixtures("pipeline")

SECOND = 32000
PAUSE = {"message": "EndOfUtterance", "metadata": {"start_time": 0.1, "end_time": 0.1}}


class Satellite:
    """A satellite that streams until the run stops reading (at most `seconds`)."""

    def __init__(self, seconds: float = 30.0) -> None:
        """Stream the fake recognizer's audio: any bytes, a word every 0.3 s of them."""
        self.audio = speech(seconds)
        self.read = 0
        self.read_at_result: int | None = None
        self.closed = False

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the audio in 10 ms chunks; note when the stream is closed."""
        try:
            for chunk in chunks(self.audio):
                self.read += len(chunk)
                yield chunk
        finally:
            self.closed = True


async def run(hass: HomeAssistant, satellite: Satellite) -> Timeline:
    """Run the speech-to-text stage with Home Assistant's voice detection enabled."""
    timeline = Timeline(hass)

    def on_event(event: PipelineEvent) -> None:
        if event.type is PipelineEventType.STT_END:
            satellite.read_at_result = satellite.read
        timeline.on_pipeline(event)

    await async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=on_event,
        stt_metadata=metadata(),
        stt_stream=satellite.stream(),
        start_stage=PipelineStage.STT,
        end_stage=PipelineStage.STT,
    )
    await hass.async_block_till_done()
    return timeline


def stt_start(timeline: Timeline) -> dict[str, Any]:
    """Return the data of the stt-start event."""
    return dict(timeline.entries[timeline.index(PipelineEventType.STT_START)][1])


async def test_the_answer_comes_while_the_satellite_still_streams(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test the run ends at Speechmatics' end of utterance, before the stream does.

    The stream is closed and never read after the result, the session ends with
    EndOfStream and closes, and the result and the final event carry the same text.
    """
    satellite = Satellite()
    timeline = await run(hass, satellite)

    assert outcome(timeline) == TEXT
    assert stt_start(timeline)["audio_processing"]["requires_external_vad"] is False
    assert timeline.transcripts[-1] == {
        "entity_id": ENTITY_ID,
        "session_id": "fake-session",
        "text": TEXT,
        "is_final": True,
        "engine": "speechmatics",
    }
    await assert_closed(fake_speechmatics)
    assert satellite.closed
    assert satellite.read == satellite.read_at_result < len(satellite.audio)
    record = fake_speechmatics.sessions[-1]
    assert record.start is not None
    assert record.start["transcription_config"]["conversation_config"] == {
        "end_of_utterance_silence_trigger": 0.5
    }
    assert record.end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": record.frames,
    }
    assert record.sent_messages[-1] == "EndOfTranscript"
    # Every byte the server got was read before the result; none came after it.
    assert len(record.audio) <= satellite.read_at_result
    assert "Warning" not in record.sent_messages


async def test_a_pause_without_words_keeps_listening(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test an EndOfUtterance before any word (a cough) does not end the command."""
    fake_speechmatics.actions[Trigger.frame(1)] = [SendJson(PAUSE)]
    timeline = await run(hass, Satellite())

    assert outcome(timeline) == TEXT
    assert fake_speechmatics.sessions[-1].sent_messages.count("EndOfUtterance") == 2


async def test_no_speech_ends_the_run_without_text(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test 8 s of audio without a word end the run as Home Assistant's detection would."""
    fake_speechmatics.recognizer = scripted("")
    satellite = Satellite()
    timeline = await run(hass, satellite)

    assert outcome(timeline) == "stt-no-text-recognized"
    await assert_closed(fake_speechmatics)
    assert satellite.closed
    record = fake_speechmatics.sessions[-1]
    assert 8 * SECOND <= len(record.audio) < len(satellite.audio)
    assert record.end_of_stream is not None


async def test_a_long_command_ends_at_the_maximum_length(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test a command past 15 s gets ForceEndOfUtterance and ends with what was said."""
    words = ["one", "two", "three", "four", "five"] * 12  # 18 s at 0.3 s a word
    fake_speechmatics.recognizer = scripted(" ".join(words))
    satellite = Satellite()
    timeline = await run(hass, satellite)

    assert outcome(timeline) == " ".join(words[:50])
    await assert_closed(fake_speechmatics)
    record = fake_speechmatics.sessions[-1]
    assert satellite.read == len(record.audio) == 15 * SECOND
    assert [message["message"] for message in record.received] == [
        "StartRecognition",
        "ForceEndOfUtterance",
        "EndOfStream",
    ]


async def test_the_option_applies_at_the_next_run(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test the end_of_speech option sets audio_processing and the trigger per run."""
    hass.config_entries.async_update_entry(
        setup_integration, options={CONF_END_OF_SPEECH: "home_assistant"}
    )
    satellite = Satellite(2.0)
    timeline = await run(hass, satellite)
    assert outcome(timeline) == TEXT
    assert stt_start(timeline)["audio_processing"]["requires_external_vad"] is True
    # Home Assistant's stream ended the run: all of it was read and sent.
    assert satellite.read == len(fake_speechmatics.sessions[-1].audio) == 2 * SECOND
    start = fake_speechmatics.sessions[-1].start
    assert start is not None
    assert "conversation_config" not in start["transcription_config"]

    hass.config_entries.async_update_entry(
        setup_integration,
        options={
            CONF_END_OF_SPEECH: "speechmatics",
            CONF_END_OF_UTTERANCE_SILENCE: 0.8,
        },
    )
    satellite = Satellite()
    timeline = await run(hass, satellite)
    assert outcome(timeline) == TEXT
    assert stt_start(timeline)["audio_processing"]["requires_external_vad"] is False
    start = fake_speechmatics.sessions[-1].start
    assert start is not None
    assert start["transcription_config"]["conversation_config"] == {
        "end_of_utterance_silence_trigger": 0.8
    }
    assert satellite.read < len(satellite.audio)


async def test_the_stream_ending_first_ends_the_run(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test a stream that ends before the pause (a satellite that stops) still answers."""
    satellite = Satellite(1.6)
    timeline = await run(hass, satellite)

    assert outcome(timeline) == TEXT
    assert satellite.read == len(fake_speechmatics.sessions[-1].audio)
    assert "EndOfUtterance" not in fake_speechmatics.sessions[-1].sent_messages
