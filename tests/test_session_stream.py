"""A Realtime session's stream: audio in order and framed, events and the transcript out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
from syrupy.assertion import SnapshotAssertion

from custom_components.speechmatics.realtime import (
    AdditionalVocab,
    AudioFormat,
    EndOfTranscript,
    EndOfUtterance,
    FinalTranscript,
    PartialTranscript,
    RealtimeClient,
    RecognitionStarted,
    ServerInfo,
    ServerWarning,
    SessionTimeout,
    TimeoutStage,
    TranscriptionConfig,
)
from tools.speechmatics_server import (
    Hold,
    Notify,
    Ping,
    RealtimeServer,
    SendJson,
    Stall,
    Trigger,
    scripted,
    tokens,
    transcript_message,
)

from .common import (
    TEXT,
    assert_closed,
    audio_stream,
    collect,
    counted,
    held_audio,
    speech,
    transcribe,
)
from .conftest import API_KEY, FAST_OPTIONS, fast_client

CONFIG = TranscriptionConfig(language="en", enable_partials=True)


async def test_session_transcribes_and_closes(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test a whole session: audio in, events and the final transcript out."""
    audio = speech(2.0)
    session = client.session(CONFIG)
    events = await collect(session, audio)

    assert session.transcript.final_text == TEXT
    assert session.session_id == "fake-session"
    record = fake_speechmatics.sessions[0]
    assert bytes(record.audio) == audio
    assert record.end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": record.frames,
    }
    assert record.headers["Authorization"] == f"Bearer {API_KEY}"
    assert record.query == {"sm-sdk": "tests-0"}
    await client.close()
    assert session.stats.audio_bytes_sent == len(audio)
    assert session.stats.frames_acked == record.frames

    kinds = [type(event) for event in events]
    assert kinds[0] is ServerInfo
    assert kinds[1] is RecognitionStarted
    assert kinds[-1] is EndOfTranscript
    assert PartialTranscript in kinds
    finals = [event.text for event in events if isinstance(event, FinalTranscript)]
    assert " ".join(finals) == TEXT
    partials = [event.text for event in events if isinstance(event, PartialTranscript)]
    assert partials[0] == "Turn"
    assert events[-1] == EndOfTranscript(TEXT)
    await assert_closed(fake_speechmatics)


async def test_start_recognition_and_end_of_stream_frames(
    client: RealtimeClient,
    fake_speechmatics: RealtimeServer,
    snapshot: SnapshotAssertion,
) -> None:
    """Test the exact JSON frames the client sends."""
    config = TranscriptionConfig(
        language="de",
        model="enhanced",
        max_delay=0.7,
        max_delay_mode="flexible",
        enable_partials=True,
        output_locale="en-GB",
        additional_vocab=(
            AdditionalVocab("Zigbee"),
            AdditionalVocab("Home Assistant", ("home assistent",)),
        ),
        end_of_utterance_silence_trigger=0.5,
    )
    await transcribe(client.session(config), speech(0.25))
    assert fake_speechmatics.sessions[0].received == snapshot


async def test_audio_before_the_start_is_kept_in_order(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test audio read while the session starts is sent, all of it, in order."""
    fake_speechmatics.start_delay = 0.3
    audio = speech(1.5)
    session = client.session(CONFIG)
    read_before_the_start: list[bool] = []

    async def source() -> AsyncIterator[bytes]:
        async for chunk in audio_stream(audio):
            yield chunk
        read_before_the_start.append(session.started is None)

    assert await transcribe(session, source()) == TEXT
    assert read_before_the_start == [True]
    record = fake_speechmatics.sessions[0]
    assert bytes(record.audio) == audio
    assert record.end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": record.frames,
    }
    await assert_closed(fake_speechmatics)


async def test_chunks_are_coalesced_into_frames(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test 10 ms chunks go out as frames of the configured duration, tail flushed at end."""
    client = fast_client(http, fake_speechmatics.url, frame_duration=0.05)
    audio = speech(1.0) + b"\x01\x02" * 5  # 1 s and a 10-byte tail
    await transcribe(client.session(CONFIG), audio)

    record = fake_speechmatics.sessions[0]
    assert record.frames == 21  # twenty 50 ms frames of 1600 bytes, then the tail
    assert bytes(record.audio) == audio
    assert record.end_of_stream == {"message": "EndOfStream", "last_seq_no": 21}


async def test_slow_acks_hold_the_sender_back(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test slow acknowledgements throttle a fast source without losing audio."""
    client = fast_client(http, fake_speechmatics.url, max_unacked_frames=2)
    fake_speechmatics.ack_delay = 0.005
    audio = speech(2.0)
    assert await transcribe(client.session(CONFIG), audio) == TEXT
    assert bytes(fake_speechmatics.sessions[0].audio) == audio


async def test_a_fast_source_is_held_back_before_the_start(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test audio is not read without bound while the service is slow to start.

    At most a window of audio is kept (then the source waits), and a start that never
    comes fails the session clearly at the start timeout.
    """
    client = fast_client(
        http, fake_speechmatics.url, max_unacked_frames=4, start_timeout=0.3
    )
    fake_speechmatics.actions[Trigger.START] = [Stall()]
    read = [0]
    with pytest.raises(SessionTimeout) as err:
        await transcribe(client.session(CONFIG), counted(speech(60.0), read))
    assert err.value.stage is TimeoutStage.START
    window = 4 * 3200
    assert window <= read[0] <= window + 320  # the window, and the chunk that passed it


async def test_end_of_stream_leaves_when_the_audio_ends(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test EndOfStream goes out as the audio ends, while the transcript still comes."""
    ended, release = asyncio.Event(), asyncio.Event()
    fake_speechmatics.actions[Trigger.END_OF_STREAM] = [Notify(ended), Hold(release)]
    session = client.session(CONFIG)
    events = asyncio.create_task(collect(session, speech(1.0)))
    async with asyncio.timeout(5):
        await ended.wait()
    assert not session.complete
    release.set()
    assert (await events)[-1] == EndOfTranscript(TEXT)
    assert session.complete
    record = fake_speechmatics.sessions[0]
    assert len(record.audio) == 32000
    assert record.end_of_stream == {"message": "EndOfStream", "last_seq_no": 10}


async def test_session_without_audio(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test a session without audio sends EndOfStream with last_seq_no 0."""
    fake_speechmatics.recognizer = scripted("")
    assert await transcribe(client.session(CONFIG), b"") == ""
    assert fake_speechmatics.sessions[0].end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": 0,
    }


async def test_file_audio(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test file audio is sent in fixed frames and declared as type file."""
    audio = b"RIFF" + bytes(20000)
    await transcribe(client.session(CONFIG, AudioFormat.file()), audio)
    record = fake_speechmatics.sessions[0]
    assert record.start is not None
    assert record.start["audio_format"] == {"type": "file"}
    assert bytes(record.audio) == audio
    assert record.frames == 3


async def test_japanese_word_delimiter(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test the language pack's empty word delimiter joins words without spaces."""
    fake_speechmatics.recognizer = scripted("電気 を つけて", word_delimiter="")
    session = client.session(replace(CONFIG, language="ja"))
    assert await transcribe(session, speech(1.0)) == "電気をつけて"


async def test_punctuation_only_and_empty_finals(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test the service's punctuation-only and empty finals assemble correctly."""
    fake_speechmatics.recognizer = scripted(
        "Hello. Turn on the light, please.",
        final_every=1,
        punctuation_own_final=True,
        empty_messages=True,
    )
    text = await transcribe(client.session(CONFIG), speech(3.0))
    assert text == "Hello. Turn on the light, please."


async def test_no_api_key_sends_no_authorization(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test an on-prem endpoint without a key gets no Authorization header."""
    fake_speechmatics.api_key = None
    client = RealtimeClient(
        http, "", fake_speechmatics.url, sdk_id="t", options=FAST_OPTIONS
    )
    await transcribe(client.session(CONFIG), b"")
    assert "Authorization" not in fake_speechmatics.sessions[0].headers


async def test_server_ping_is_answered(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test the client answers the server's pings, and empty chunks send nothing."""
    fake_speechmatics.autoping = False
    fake_speechmatics.actions[Trigger.STARTED] = [Ping()]

    async def with_empty_chunks() -> AsyncIterator[bytes]:
        yield b""
        async for chunk in audio_stream(speech(1.0)):
            yield chunk
            yield b""

    await transcribe(client.session(CONFIG), with_empty_chunks())
    record = fake_speechmatics.sessions[0]
    assert record.pongs == 1
    assert len(record.audio) == 32000
    assert record.frames == 10


async def test_unknown_messages_are_ignored(
    client: RealtimeClient,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test unknown messages and unknown Info and Warning types do not fail the session."""
    caplog.set_level("DEBUG", "custom_components.speechmatics")
    fake_speechmatics.actions[Trigger.START] = [
        SendJson(
            {"message": "Info", "type": "a_new_info", "reason": "news", "extra": 1}
        ),
        SendJson({"message": "Warning", "type": "a_new_warning", "reason": "careful"}),
    ]
    fake_speechmatics.actions[Trigger.frame(2)] = [
        SendJson({"message": "SomethingNew", "x": 1})
    ]
    session = client.session(CONFIG)
    events = await collect(session, speech(1.0))
    assert session.transcript.final_text == TEXT
    assert ServerInfo("a_new_info", "news", {"extra": 1}) in events
    assert ServerWarning("a_new_warning", "careful", {}) in events
    assert "Ignoring unknown message SomethingNew" in caplog.text


async def test_duration_limit_ends_the_input(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test Warning duration_limit_exceeded stops the audio and the transcript comes at once.

    The source is still streaming (a user still speaking): the session returns its
    transcript without reading it to its end, and closes it.
    """
    fake_speechmatics.actions[Trigger.frame(3)] = [
        SendJson(
            {
                "message": "Warning",
                "type": "duration_limit_exceeded",
                "reason": "limit",
                "duration_limit": 7200,
            }
        ),
        SendJson(transcript_message(tokens("Turn"), final=True)),
        SendJson({"message": "EndOfTranscript"}),
    ]
    source = held_audio(speech(0.3), asyncio.Event())
    session = client.session(CONFIG)
    async with asyncio.timeout(5):
        assert await transcribe(session, source) == "Turn"
    await client.close()
    assert source.ag_frame is None  # closed, never released
    record = fake_speechmatics.sessions[0]
    assert record.end_of_stream is None
    assert record.frames == 3


async def test_force_end_of_utterance(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test ForceEndOfUtterance goes out after the audio read so far and finalises it."""
    session = client.session(CONFIG)

    async def source() -> AsyncIterator[bytes]:
        async for chunk in audio_stream(speech(0.7)):  # two words
            yield chunk
        session.force_end_of_utterance()
        async for chunk in audio_stream(speech(0.1)):
            yield chunk

    events = await collect(session, source())
    record = fake_speechmatics.sessions[0]
    names = [m["message"] for m in record.received]
    assert names == ["StartRecognition", "ForceEndOfUtterance", "EndOfStream"]
    finals = [e.text for e in events if isinstance(e, FinalTranscript)]
    assert finals[0] == "Turn on"
    end = next(i for i, e in enumerate(events) if isinstance(e, EndOfUtterance))
    assert isinstance(events[end - 1], FinalTranscript)
