"""Stored options the schema refuses: never a traceback, the flow always opens.

Options reach the entry by the options flow, which saves only what passes the check,
but also by older versions, scripts and hand edits of .storage. Each shape here made
every run raise into the pipeline, or the options flow fail, before the check.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics.const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_END_OF_SPEECH,
    CONF_END_OF_UTTERANCE_SILENCE,
    CONF_FALLBACK_STT,
    CONF_MAX_DELAY,
    CONF_MODEL,
    CONF_VOCABULARY_FROM_HOME,
)
from custom_components.speechmatics.options import check_options
from custom_components.speechmatics.realtime import AdditionalVocab
from tools.speechmatics_server import RealtimeServer

from .common import TEXT, Timeline, outcome, run_pipeline, speech
from .conftest import config_entry

GOOD = {"content": "Zigbee", "sounds_like": ["zig bee"]}

# (stored options, what a session gets instead, the refused key the log names)
BAD_OPTIONS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "max_delay_string": ({CONF_MAX_DELAY: "fast"}, {"max_delay": 0.7}, "max_delay"),
    "max_delay_too_big": ({CONF_MAX_DELAY: 99}, {"max_delay": 0.7}, "max_delay"),
    "max_delay_bool": ({CONF_MAX_DELAY: True}, {"max_delay": 0.7}, "max_delay"),
    "model_unknown": ({CONF_MODEL: "turbo"}, {"model": "enhanced"}, "model"),
    "mode_unknown": (
        {CONF_END_OF_SPEECH: "whenever"},
        {"conversation_config": {"end_of_utterance_silence_trigger": 0.5}},
        "end_of_speech",
    ),
    "silence_list": (
        {CONF_END_OF_UTTERANCE_SILENCE: [1]},
        {"conversation_config": {"end_of_utterance_silence_trigger": 0.5}},
        "end_of_utterance_silence",
    ),
    "vocab_string": (
        {CONF_ADDITIONAL_VOCAB: "Zigbee"},
        {"additional_vocab": None},
        "additional_vocab",
    ),
    "entry_without_content": (
        {CONF_ADDITIONAL_VOCAB: [{"sounds_like": ["x"]}, GOOD]},
        {"additional_vocab": [GOOD]},
        "additional_vocab[0]",
    ),
    "entry_not_a_mapping": (
        {CONF_ADDITIONAL_VOCAB: [7, GOOD]},
        {"additional_vocab": [GOOD]},
        "additional_vocab[0]",
    ),
    "entry_of_500_characters": (
        {CONF_ADDITIONAL_VOCAB: [GOOD, {"content": "x" * 500}]},
        {"additional_vocab": [GOOD]},
        "additional_vocab[1]",
    ),
    "sounds_like_of_500_characters": (
        {CONF_ADDITIONAL_VOCAB: [{"content": "Zigbee", "sounds_like": ["y" * 500]}]},
        {"additional_vocab": None},
        "additional_vocab[0]",
    ),
    "too_many_entries": (
        {CONF_ADDITIONAL_VOCAB: [{"content": f"name{i}"} for i in range(2000)]},
        {"additional_vocab": [f"name{i}" for i in range(1000)]},
        "2000 entries",
    ),
    "fallback_not_an_entity": (
        {CONF_FALLBACK_STT: "light.kitchen"},
        {},
        "fallback_stt",
    ),
    "vocabulary_from_home_string": (
        {CONF_VOCABULARY_FROM_HOME: "yes"},
        {},
        "vocabulary_from_home",
    ),
}


def _sent(start: dict[str, Any], key: str) -> Any:
    return start["transcription_config"].get(key)


@pytest.fixture(params=list(BAD_OPTIONS))
def bad(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Return a shape of stored options that the check refuses."""
    return BAD_OPTIONS[request.param]


@pytest.fixture
def mock_config_entry(
    fake_speechmatics: RealtimeServer,
    bad: tuple[dict[str, Any], dict[str, Any], str],
) -> MockConfigEntry:
    """Return an entry that was stored with the bad options."""
    return config_entry(fake_speechmatics.url, bad[0])


def _assert_session_got(
    fake: RealtimeServer, expected: dict[str, Any], bad_key: str
) -> None:
    start = fake.sessions[-1].start
    assert start is not None
    for key, value in expected.items():
        assert _sent(start, key) == value, (bad_key, start["transcription_config"])


@pytest.mark.usefixtures("pipeline")
async def test_bad_options_stored_before_setup_are_repaired(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    bad: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    """Test setup replaces what is refused with defaults, says so, and runs work."""
    _stored, expected, bad_key = bad
    assert setup_integration.state is ConfigEntryState.LOADED
    lines = [
        record
        for record in caplog.get_records("setup")  # the entry is set up by a fixture
        if "replaced by their defaults" in record.message
    ]
    assert len(lines) == 1
    assert bad_key in lines[0].message
    assert lines[0].levelname == "WARNING"
    # The stored options are the repaired ones: the check passes them as they are.
    assert check_options(setup_integration.options)[1] == []
    assert (
        check_options(setup_integration.options)[0].as_options()
        == setup_integration.options
    )

    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(2.0))
    assert outcome(timeline) == TEXT
    _assert_session_got(fake_speechmatics, expected, bad_key)
    assert "Traceback" not in caplog.text


def test_good_options_pass_as_they_are() -> None:
    """Test valid stored options come out of the check unchanged."""
    stored = {
        CONF_MODEL: "standard",
        CONF_MAX_DELAY: 1.5,
        CONF_END_OF_SPEECH: "home_assistant",
        CONF_ADDITIONAL_VOCAB: [GOOD],
        CONF_FALLBACK_STT: "stt.whisper",
    }
    options, problems = check_options(stored)
    assert problems == []
    assert options.max_delay == 1.5
    assert not options.speechmatics_ends_speech
    assert options.additional_vocab == (AdditionalVocab("Zigbee", ("zig bee",)),)
    assert options.as_options() == {
        **stored,
        "enable_partials": True,
        "end_of_utterance_silence": 0.5,
        "vocabulary_from_home": True,
    }


@pytest.mark.usefixtures("pipeline")
async def test_bad_options_written_after_setup_do_not_break_runs_or_the_flow(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    bad: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    """Test options changed to bad values while loaded: runs use defaults, the flow opens."""
    stored, expected, bad_key = bad
    hass.config_entries.async_update_entry(setup_integration, options={})
    caplog.clear()
    hass.config_entries.async_update_entry(setup_integration, options=stored)
    for _ in range(2):
        timeline = Timeline(hass)
        await run_pipeline(hass, timeline, speech(2.0))
        assert outcome(timeline) == TEXT
        _assert_session_got(fake_speechmatics, expected, bad_key)
    lines = [r for r in caplog.records if "replaced by their defaults" in r.message]
    assert len(lines) == 1  # once per change of the options, not per run
    assert bad_key in lines[0].message

    result = await hass.config_entries.options.async_init(setup_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {}
    assert "Traceback" not in caplog.text


def test_the_log_line_shows_types_not_whole_values() -> None:
    """Test a huge refused value is cut in the log line."""
    _options, problems = check_options({CONF_ADDITIONAL_VOCAB: "z" * 100_000})
    assert len(problems) == 1
    assert len(problems[0]) < 200
    assert problems[0].startswith("additional_vocab (str 'zzz")


def test_sounds_like_null_keeps_the_entry() -> None:
    """Test an entry whose sounds_like is null keeps its content."""
    options, problems = check_options(
        {CONF_ADDITIONAL_VOCAB: [{"content": " Aqara   hub ", "sounds_like": None}]}
    )
    assert problems == []
    assert options.additional_vocab == (AdditionalVocab("Aqara hub"),)
