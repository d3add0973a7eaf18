"""A misbehaving server, found by trying to break the integration, through the pipeline.

Each case failed before its fix: an Error with no type or a huge reason, a second
RecognitionStarted, a session without an id, an acknowledgement of audio never sent,
a transcript of megabytes and a flood of partials.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics.const import DOMAIN
from custom_components.speechmatics.health import ISSUE_QUOTA, issue_id
from custom_components.speechmatics.realtime import messages
from tools.speechmatics_server import Close, RealtimeServer, SendJson, Trigger

from .common import TEXT, Timeline, outcome, run_pipeline, speech
from .conftest import ENTRY_ID

pytestmark = pytest.mark.usefixtures("pipeline")

FAILED = "stt-stream-failed"


async def _run(hass: HomeAssistant) -> Timeline:
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(2.0))
    return timeline


def _final(text: str) -> dict[str, Any]:
    return {
        "message": "AddTranscript",
        "metadata": {"start_time": 0.0, "end_time": 1.0, "transcript": text},
        "results": [
            {
                "type": "word",
                "start_time": 0.0,
                "end_time": 1.0,
                "alternatives": [{"content": text, "confidence": 1.0}],
            }
        ],
    }


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.speechmatics")
    ]


async def test_an_error_without_a_type_says_unknown_error(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test the log line names the error when the server does not."""
    fake_speechmatics.actions[Trigger.frame(3)] = [
        SendJson({"message": "Error"}),
        Close(1000),
    ]
    assert outcome(await _run(hass)) == FAILED
    assert "Speech-to-text with Speechmatics failed: unknown error" in _messages(caplog)


async def test_a_huge_reason_is_cut_in_the_log_and_the_repair_issue(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Test a 1 MiB reason is neither logged nor stored whole."""
    reason = "r" * 2**20
    fake_speechmatics.actions[Trigger.frame(3)] = [
        SendJson({"message": "Error", "type": "quota_exceeded", "reason": reason}),
        Close(4005),
    ]
    assert outcome(await _run(hass)) == FAILED
    lines = [m for m in _messages(caplog) if m.startswith("Speech-to-text with")]
    assert len(lines) == 1
    assert lines[0].startswith(
        "Speech-to-text with Speechmatics failed: quota_exceeded"
    )
    assert len(lines[0]) < 400
    issue = issue_registry.async_get_issue(DOMAIN, issue_id(ISSUE_QUOTA, ENTRY_ID))
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert len(issue.translation_placeholders["reason"]) < 400
    last_error = setup_integration.runtime_data.health.last_error
    assert last_error is not None
    assert len(last_error) < 400


async def test_a_second_recognition_started_fails_the_run(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test a second start, which would change the word delimiter mid-transcript."""
    fake_speechmatics.actions[Trigger.frame(4)] = [
        SendJson(
            {
                "message": "RecognitionStarted",
                "id": "other",
                "language_pack_info": {"word_delimiter": ""},
            }
        )
    ]
    timeline = await _run(hass)
    assert outcome(timeline) == FAILED
    assert (
        "Speech-to-text with Speechmatics failed: "
        "the server sent RecognitionStarted twice"
    ) in _messages(caplog)
    assert not any("Turnon" in event["text"] for event in timeline.transcripts)


async def test_a_session_without_an_id_has_none(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test an empty id is no id, and a null one too (not the text "None")."""
    fake_speechmatics.session_id = ""
    timeline = await _run(hass)
    assert outcome(timeline) == TEXT
    assert {event["session_id"] for event in timeline.transcripts} == {None}
    started = messages.parse_recognition_started(
        {"message": "RecognitionStarted", "id": None}
    )
    assert started.session_id is None


async def test_an_acknowledgement_of_audio_never_sent_fails_the_run(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test an AudioAdded beyond the frames sent is an invalid message."""
    fake_speechmatics.actions[Trigger.frame(2)] = [
        SendJson({"message": "AudioAdded", "seq_no": 9999})
    ]
    assert outcome(await _run(hass)) == FAILED
    assert any(
        "the server acknowledged frame 9999, but" in line for line in _messages(caplog)
    )


async def test_a_transcript_of_megabytes_fails_clearly(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test a final far longer than any voice command is refused, not returned."""
    fake_speechmatics.actions[Trigger.frame(3)] = [SendJson(_final("x" * 2**20))]
    timeline = await _run(hass)
    assert outcome(timeline) == FAILED
    assert (
        "Speech-to-text with Speechmatics failed: "
        "the transcript is longer than 10000 characters"
    ) in _messages(caplog)
    assert all(len(event["text"]) <= 10_000 for event in timeline.transcripts)


def _partials(count: int) -> list[SendJson]:
    return [
        SendJson({**_final(f"flood{i}"), "message": "AddPartialTranscript"})
        for i in range(count)
    ]


async def test_a_flood_of_partials_fires_few_events_and_the_final_at_once(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test 5,000 partials in one utterance become a few bus events, then the final."""
    fake_speechmatics.actions[Trigger.frame(3)] = _partials(5000)
    timeline = await _run(hass)
    assert outcome(timeline) == TEXT
    partials = [e["text"] for e in timeline.transcripts if not e["is_final"]]
    # The run lasts well under 5 s: one event per 100 ms at most, and the scripted
    # words' own partials.
    assert len(partials) < 60, len(partials)
    assert len(set(partials)) == len(partials)  # each one new
    assert timeline.transcripts[-1]["is_final"]
    assert timeline.transcripts[-1]["text"] == TEXT


async def test_a_failed_run_still_delivers_its_latest_text(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test the text held back by the interval is fired when the run fails."""
    fake_speechmatics.actions[Trigger.frame(3)] = [*_partials(500), Close(1000)]
    timeline = await _run(hass)
    assert outcome(timeline) == FAILED
    assert len(timeline.transcripts) < 60
    assert timeline.transcripts[-1]["text"].endswith("flood499")
    assert not timeline.transcripts[-1]["is_final"]
