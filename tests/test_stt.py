"""Tests for the Speechmatics speech-to-text entity, through Home Assistant's pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator

from homeassistant.components import stt
from homeassistant.components.assist_pipeline import PipelineEventType
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.speechmatics.const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_ENABLE_PARTIALS,
    CONF_END_OF_SPEECH,
    CONF_MAX_DELAY,
    CONF_MODEL,
    EVENT_TRANSCRIPT,
    LANGUAGES,
    SpeechmaticsLanguage,
)
from tools.speechmatics_server import Drop, RealtimeServer, Trigger, error, scripted

from .common import (
    ENTITY_ID,
    TEXT,
    Timeline,
    audio_stream,
    metadata,
    paced,
    run_pipeline,
    speech,
    wav_file,
)
from .conftest import API_KEY

PartialSpeechResult = getattr(stt, "PartialSpeechResult", None)


@pytest.mark.usefixtures("pipeline")
async def test_pipeline_transcribes_while_streaming(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test a pipeline run: partial events while streaming, then the final text.

    At a satellite's pace the words are further apart than the partial events'
    interval: every change of the text is an event.
    """
    timeline = Timeline(hass)
    audio = speech(2.0)
    await run_pipeline(hass, timeline, paced(audio), "en-GB")

    stt_end = timeline.entries[timeline.index(PipelineEventType.STT_END)][1]
    assert stt_end["stt_output"]["text"] == TEXT
    transcripts = timeline.transcripts
    partials = [t for t in transcripts if not t["is_final"]]
    finals = [t for t in transcripts if t["is_final"]]
    assert [t["text"] for t in partials] == [
        "Turn",
        "Turn on",
        "Turn on the",
        "Turn on the kitchen",
        "Turn on the kitchen light.",
    ]
    assert finals == [
        {
            "entity_id": ENTITY_ID,
            "session_id": "fake-session",
            "text": TEXT,
            "is_final": True,
            "engine": "speechmatics",
        }
    ]
    assert all(
        t["entity_id"] == ENTITY_ID and t["session_id"] == "fake-session"
        for t in partials
    )
    final_at = next(
        i for i, (k, d) in enumerate(timeline.entries) if k == "bus" and d["is_final"]
    )
    last_partial_at = max(
        i
        for i, (k, d) in enumerate(timeline.entries)
        if k == "bus" and not d["is_final"]
    )
    assert last_partial_at < final_at < timeline.index(PipelineEventType.STT_END)
    assert all(API_KEY not in str(t) for t in transcripts)

    record = fake_speechmatics.sessions[-1]
    assert record.start is not None
    assert record.start["transcription_config"] == {
        "language": "en",
        "output_locale": "en-GB",
        "model": "enhanced",
        "max_delay": 0.7,
        "enable_partials": True,
        "conversation_config": {"end_of_utterance_silence_trigger": 0.5},
    }
    assert record.start["audio_format"] == {
        "type": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
    }
    assert record.end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": record.frames,
    }
    assert bytes(record.audio) == audio
    await fake_speechmatics.wait_closed()


@pytest.mark.usefixtures("pipeline")
@pytest.mark.parametrize(
    ("tag", "code", "locale"),
    [
        ("zh-CN", "cmn", "cmn-Hans"),
        ("zh-TW", "cmn", "cmn-Hant"),
        ("zh-HK", "yue", None),
        ("nb-NO", "no", None),
        ("de-DE", "de", None),
        ("cmn_en", "cmn_en", None),
    ],
)
async def test_pipeline_language_mapping(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    tag: str,
    code: str,
    locale: str | None,
) -> None:
    """Test the pipeline's language reaches Speechmatics as language and output locale."""
    await run_pipeline(hass, Timeline(hass), speech(0.5), tag)
    record = fake_speechmatics.sessions[-1]
    assert record.start is not None
    config = record.start["transcription_config"]
    assert config["language"] == code
    assert config.get("output_locale") == locale


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", SpeechmaticsLanguage("en")),
        ("en-US", SpeechmaticsLanguage("en", "en-US")),
        ("en-GB", SpeechmaticsLanguage("en", "en-GB")),
        ("en-AU", SpeechmaticsLanguage("en", "en-AU")),
        ("en-IN", SpeechmaticsLanguage("en")),
        ("de-DE", SpeechmaticsLanguage("de")),
        ("zh-CN", SpeechmaticsLanguage("cmn", "cmn-Hans")),
        ("zh-TW", SpeechmaticsLanguage("cmn", "cmn-Hant")),
        ("zh-HK", SpeechmaticsLanguage("yue")),
        ("nb-NO", SpeechmaticsLanguage("no")),
        ("cmn", SpeechmaticsLanguage("cmn")),
    ],
)
def test_language_table(tag: str, expected: SpeechmaticsLanguage) -> None:
    """Test region tags map to the language, plus the output locale where one exists."""
    assert LANGUAGES[tag] == expected


def test_language_table_is_consistent() -> None:
    """Test every region tag maps to the code of its own base language (or Chinese)."""
    for tag, language in LANGUAGES.items():
        base = tag.split("-")[0]
        assert base == language.code or base in {"zh", "yue", "nb", "nn"}, tag
        if language.output_locale:
            assert language.output_locale.split("-")[0] in {language.code, "cmn"}


@pytest.mark.usefixtures("setup_integration")
async def test_every_language_passes_check_metadata(hass: HomeAssistant) -> None:
    """Test a pipeline in any listed language, at any sample rate, is accepted."""
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    assert len(entity.supported_languages) > 150
    for tag in LANGUAGES:
        assert entity.check_metadata(metadata(tag))
    for rate in stt.AudioSampleRates:
        assert entity.check_metadata(metadata(sample_rate=rate))
    assert entity.check_metadata(
        metadata(format=stt.AudioFormats.OGG, codec=stt.AudioCodecs.OPUS)
    )
    assert not entity.check_metadata(metadata("xx-XX"))
    assert not entity.check_metadata(metadata(channel=stt.AudioChannels.CHANNEL_STEREO))


@pytest.mark.usefixtures("setup_integration")
async def test_other_sample_rates_are_sent_as_raw(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test 8 kHz audio is declared at 8 kHz."""
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(
        metadata(sample_rate=stt.AudioSampleRates.SAMPLERATE_8000),
        audio_stream(speech(1.0)),
    )
    assert result == stt.SpeechResult(TEXT, stt.SpeechResultState.SUCCESS)
    assert fake_speechmatics.sessions[-1].start["audio_format"]["sample_rate"] == 8000  # type: ignore[index]


@pytest.mark.usefixtures("setup_integration")
async def test_http_api_wav_header_is_stripped(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """Test a WAV file posted to the STT HTTP API is sent as its raw samples."""
    audio = speech(1.5)
    client = await hass_client()
    response = await client.post(
        f"/api/stt/{ENTITY_ID}",
        data=wav_file(audio, rate=22050),
        headers={
            "X-Speech-Content": "format=wav; codec=pcm; sample_rate=22000; bit_rate=16; channel=1; language=en-US"
        },
    )
    assert response.status == 200
    assert await response.json() == {"text": TEXT, "result": "success"}
    record = fake_speechmatics.sessions[-1]
    assert bytes(record.audio) == audio
    assert record.start["audio_format"] == {
        "type": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 22050,
    }  # type: ignore[index]


@pytest.mark.usefixtures("setup_integration")
async def test_ogg_opus_is_sent_as_a_file(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test OGG/Opus is passed through for Speechmatics to decode."""
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    ogg = b"OggS" + bytes(range(256)) * 40
    result = await entity.async_process_audio_stream(
        metadata(format=stt.AudioFormats.OGG, codec=stt.AudioCodecs.OPUS),
        audio_stream(ogg),
    )
    assert result.result is stt.SpeechResultState.SUCCESS
    record = fake_speechmatics.sessions[-1]
    assert record.start["audio_format"] == {"type": "file"}  # type: ignore[index]
    assert bytes(record.audio) == ogg


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "audio",
    [
        wav_file(speech(0.2), channels=2),
        wav_file(speech(0.2), width=1),
        b"RIFF\x00\x00\x00\x00WAVX" + bytes(100),
        b"RIFF\x24\x00\x00\x00WAVEdata\x00\x00\x00\x00",
        wav_file(speech(0.2))[:30],
    ],
)
async def test_unsupported_wav_is_an_error(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    audio: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test WAV that is not 16-bit mono PCM fails clearly, without a session."""
    sessions = len(fake_speechmatics.sessions)
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(metadata(), audio_stream(audio))
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert "Cannot transcribe this audio" in caplog.text
    assert len(fake_speechmatics.sessions) == sessions


@pytest.mark.usefixtures("setup_integration")
async def test_empty_stream_opens_no_session(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test a stream that ends without audio returns no text and costs no session."""
    sessions = len(fake_speechmatics.sessions)
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(metadata(), audio_stream(b""))
    assert result == stt.SpeechResult("", stt.SpeechResultState.SUCCESS)
    assert len(fake_speechmatics.sessions) == sessions


@pytest.mark.usefixtures("setup_integration")
async def test_options_apply_to_the_next_session(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test changed options reach the next StartRecognition without a reload."""
    hass.config_entries.async_update_entry(
        setup_integration,
        options={
            CONF_MODEL: "standard",
            CONF_MAX_DELAY: 2.0,
            CONF_ENABLE_PARTIALS: False,
            CONF_END_OF_SPEECH: "home_assistant",
            CONF_ADDITIONAL_VOCAB: [
                {"content": "Zigbee"},
                {"content": "Home Assistant", "sounds_like": ["home assistent"]},
            ],
        },
    )
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    # A callback listener: events.append alone would run in the executor, out of order.
    events = async_capture_events(hass, EVENT_TRANSCRIPT)
    result = await entity.async_process_audio_stream(
        metadata("de-DE"), audio_stream(speech(1.0))
    )
    await hass.async_block_till_done()
    assert result.text == TEXT
    assert fake_speechmatics.sessions[-1].start["transcription_config"] == {  # type: ignore[index]
        "language": "de",
        "model": "standard",
        "max_delay": 2.0,
        "additional_vocab": [
            "Zigbee",
            {"content": "Home Assistant", "sounds_like": ["home assistent"]},
        ],
    }
    # Without partials, the finals still show the text so far while the user speaks
    # (the second final came within the partial events' interval: the final event
    # carries it).
    assert [(e.data["text"], e.data["is_final"]) for e in events] == [
        ("Turn on the", False),
        (TEXT, True),
    ]


@pytest.mark.skipif(
    PartialSpeechResult is None,
    reason="Home Assistant < 2026.11 has no partial results",
)
@pytest.mark.usefixtures("setup_integration")
async def test_progress_yields_partials_then_one_result(hass: HomeAssistant) -> None:
    """Test 2026.11's progress API: the text so far as partials, then exactly one result."""
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    results = [
        result
        async for result in entity.internal_async_process_audio_stream_with_progress(
            metadata(), audio_stream(speech(2.0))
        )
    ]
    assert results[-1] == stt.SpeechResult(TEXT, stt.SpeechResultState.SUCCESS)
    assert all(isinstance(r, PartialSpeechResult) for r in results[:-1])
    assert [r.text for r in results[:-1]] == [
        "Turn",
        "Turn on",
        "Turn on the",
        "Turn on the kitchen",
        "Turn on the kitchen light.",
    ]


@pytest.mark.usefixtures("pipeline")
async def test_rejected_key_during_use_starts_reauth(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test a key rejected during a run fails the run and starts reauthentication."""
    fake_speechmatics.api_key = "rotated"
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(1.0))
    error_event = timeline.entries[timeline.index(PipelineEventType.ERROR)][1]
    assert error_event["code"] == "stt-stream-failed"
    assert timeline.transcripts == []
    flows = hass.config_entries.flow.async_progress_by_handler("speechmatics")
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.usefixtures("pipeline")
async def test_dropped_connection_is_not_a_truncated_success(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test a connection lost after some finals fails the run; no event claims is_final."""
    fake_speechmatics.actions[Trigger.frame(12)] = [Drop()]
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(2.0))
    assert timeline.index(PipelineEventType.ERROR) > 0
    assert PipelineEventType.STT_END not in [k for k, _ in timeline.entries]
    assert timeline.transcripts
    assert not any(t["is_final"] for t in timeline.transcripts)
    assert (
        "Speechmatics is unreachable: the server closed the connection" in caplog.text
    )


@pytest.mark.usefixtures("pipeline")
async def test_service_error_mid_stream(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test a service Error fails the run cleanly and the next run works."""
    fake_speechmatics.actions[Trigger.frame(3)] = error("job_error")
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(1.0))
    assert timeline.index(PipelineEventType.ERROR) > 0

    fake_speechmatics.actions.clear()
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(2.0))
    stt_end = timeline.entries[timeline.index(PipelineEventType.STT_END)][1]
    assert stt_end["stt_output"]["text"] == TEXT


@pytest.mark.usefixtures("setup_integration")
async def test_failing_audio_stream(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test Home Assistant's audio stream raising fails the run and closes the session."""

    async def broken() -> AsyncIterator[bytes]:
        yield bytes(3200)
        yield bytes(3200)
        reason = "satellite gone"
        raise ConnectionResetError(reason)

    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(metadata(), broken())
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert "The audio stream failed" in caplog.text
    assert "satellite gone" in caplog.text
    await fake_speechmatics.wait_closed()


@pytest.mark.usefixtures("setup_integration")
async def test_empty_transcript(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test silence comes back as an empty successful transcript."""
    fake_speechmatics.recognizer = scripted("")
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(
        metadata(), audio_stream(speech(0.5))
    )
    assert result == stt.SpeechResult("", stt.SpeechResultState.SUCCESS)


@pytest.mark.usefixtures("setup_integration")
async def test_stream_failing_before_audio(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test a stream that fails before any audio is an error without a session."""

    async def broken() -> AsyncIterator[bytes]:
        reason = "no microphone"
        raise OSError(reason)
        yield b""  # pragma: no cover

    sessions = len(fake_speechmatics.sessions)
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(metadata(), broken())
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert "no microphone" in caplog.text
    assert len(fake_speechmatics.sessions) == sessions
