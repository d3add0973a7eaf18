"""Tests for the Realtime configuration, messages and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.speechmatics.realtime import (
    DEFAULT_URL,
    AdditionalVocab,
    AudioEncoding,
    AudioFormat,
    RealtimeClient,
    SessionTimeout,
    TimeoutStage,
    TranscriptionConfig,
    messages,
    parse_vocab,
    validate_url,
)
from custom_components.speechmatics.realtime.errors import error_for_close_code

SCHEMAS = (
    Path(__file__).parents[2] / "shared" / "speechmatics" / "realtime.schemas.json"
)

FULL_CONFIG = TranscriptionConfig(
    language="cmn",
    model="enhanced",
    max_delay=4,
    max_delay_mode="fixed",
    enable_partials=True,
    enable_entities=True,
    output_locale="cmn-Hans",
    domain="finance",
    additional_vocab=(
        AdditionalVocab("Zigbee"),
        AdditionalVocab("Z-Wave", ("zee wave",)),
    ),
    end_of_utterance_silence_trigger=0,
)


def client_messages() -> list[dict[str, Any]]:
    """Return every kind of message the client sends."""
    return [
        messages.start_recognition(TranscriptionConfig(language="en"), AudioFormat()),
        messages.start_recognition(
            FULL_CONFIG, AudioFormat(encoding=AudioEncoding.MULAW, sample_rate=8000)
        ),
        messages.start_recognition(
            FULL_CONFIG,
            AudioFormat(encoding=AudioEncoding.PCM_F32LE, sample_rate=44100),
        ),
        messages.start_recognition(
            TranscriptionConfig(language="en"), AudioFormat.file()
        ),
        messages.end_of_stream(0),
        messages.end_of_stream(42),
        messages.force_end_of_utterance(),
    ]


@pytest.mark.skipif(
    not SCHEMAS.exists(), reason="the official schema is not beside the repository"
)
@pytest.mark.parametrize("message", client_messages())
def test_client_messages_validate_against_the_official_schema(
    message: dict[str, Any],
) -> None:
    """Test every message the client sends is valid by the official AsyncAPI schema."""
    from jsonschema import Draft202012Validator  # noqa: PLC0415

    bundle = json.loads(SCHEMAS.read_text())
    schema = {
        "$schema": bundle["$schema"],
        "$defs": bundle["$defs"],
        "$ref": f"#/$defs/{message['message']}",
    }
    wire = json.loads(json.dumps(message))
    errors = list(Draft202012Validator(schema).iter_errors(wire))
    assert not errors, [error.message for error in errors]


def test_minimal_config_leaves_service_defaults() -> None:
    """Test unset options are not sent, so the service defaults apply."""
    assert TranscriptionConfig(language="en").as_message() == {"language": "en"}
    assert AudioFormat().as_message() == {
        "type": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
    }


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"language": ""}, "language"),
        ({"language": "en", "max_delay": 0.5}, "max_delay"),
        ({"language": "en", "max_delay": 4.5}, "max_delay"),
        ({"language": "en", "end_of_utterance_silence_trigger": 3}, "end_of_utterance"),
        ({"language": "en", "additional_vocab": (AdditionalVocab(" "),)}, "empty"),
        (
            {
                "language": "en",
                "additional_vocab": tuple(
                    AdditionalVocab(f"w{i}") for i in range(1001)
                ),
            },
            "1000",
        ),
    ],
)
def test_invalid_config_is_refused(kwargs: dict[str, Any], match: str) -> None:
    """Test values the service would reject are refused with a clear message."""
    with pytest.raises(ValueError, match=match):
        TranscriptionConfig(**kwargs)


def test_audio_format() -> None:
    """Test frame sizes in whole samples, and the refusal of impossible rates."""
    assert AudioFormat(sample_rate=16000).frame_bytes(0.1) == 3200
    f32 = AudioFormat(encoding=AudioEncoding.PCM_F32LE, sample_rate=8000)
    assert f32.frame_bytes(0.1) == 3200
    assert AudioFormat(sample_rate=22050).frame_bytes(0.1) == 4410
    assert AudioFormat(sample_rate=16000).frame_bytes(0.00001) == 2
    assert AudioFormat.file().frame_bytes(0.1) == 8192
    with pytest.raises(ValueError, match="sample_rate"):
        AudioFormat(sample_rate=0)


@pytest.mark.parametrize(
    ("line", "vocab"),
    [
        ("Zigbee", AdditionalVocab("Zigbee")),
        ("  Home   Assistant ", AdditionalVocab("Home Assistant")),
        ("Zigbee: zig bee, zig be", AdditionalVocab("Zigbee", ("zig bee", "zig be"))),
        ("Nanoleaf:  , nano leaf,", AdditionalVocab("Nanoleaf", ("nano leaf",))),
        ("   ", None),
        (": only spellings", None),
    ],
)
def test_vocab_lines(line: str, vocab: AdditionalVocab | None) -> None:
    """Test the `phrase: sounds like, ...` line format, both ways."""
    assert AdditionalVocab.parse(line) == vocab
    if vocab is not None:
        assert AdditionalVocab.parse(vocab.line) == vocab


def test_vocab_lists_the_service_would_cut_are_refused() -> None:
    """Test phrases over six words and lists over 1000 entries are refused."""
    assert parse_vocab(["a", "", "b: bee"]) == (
        AdditionalVocab("a"),
        AdditionalVocab("b", ("bee",)),
    )
    with pytest.raises(ValueError, match="more than 6 words"):
        parse_vocab(["one two three four five six seven"])
    with pytest.raises(ValueError, match="at most 1000"):
        parse_vocab([f"name {index}" for index in range(1001)])


@pytest.mark.parametrize(
    "url",
    [
        "https://eu.rt.speechmatics.com/v2",
        "eu.rt.speechmatics.com",
        "ws://",
        "",
        "wss://[bad",
    ],
)
def test_invalid_urls(url: str) -> None:
    """Test what is not a ws:// or wss:// URL is refused."""
    with pytest.raises(ValueError, match="URL"):
        validate_url(url)


def test_client_url_carries_the_sdk_id() -> None:
    """Test the sm-sdk query parameter names the client; custom URLs keep their path."""
    client = RealtimeClient(None, "k", sdk_id="home-assistant-1.0")  # type: ignore[arg-type]
    assert str(client.url) == f"{DEFAULT_URL}?sm-sdk=home-assistant-1.0"
    onprem = RealtimeClient(None, None, "ws://10.0.0.2:9000/v2", sdk_id="x")  # type: ignore[arg-type]
    assert str(onprem.url) == "ws://10.0.0.2:9000/v2?sm-sdk=x"


def test_timeout_message_names_stage() -> None:
    """Test a timeout says which stage and how long."""
    assert (
        str(SessionTimeout(TimeoutStage.FINISH, 2.5))
        == "No answer from the server within 2.5 s (finish)"
    )


def test_unknown_close_codes_name_no_error() -> None:
    """Test only the service's own close codes map to error types."""
    assert error_for_close_code(None) is None
    assert error_for_close_code(1000) is None
    error = error_for_close_code(4006)
    assert error is not None
    assert error.error_type == "timelimit_exceeded"
