"""Tests for a Realtime session against the fake Speechmatics server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
import socket
from typing import Any

import aiohttp
import pytest
from syrupy.assertion import SnapshotAssertion

from custom_components.speechmatics.realtime import (
    AdditionalVocab,
    AudioFormat,
    AuthenticationError,
    CannotConnect,
    ConnectionClosed,
    EndOfTranscript,
    EndOfUtterance,
    FinalTranscript,
    InvalidConfiguration,
    InvalidMessage,
    NotAllowed,
    PartialTranscript,
    QuotaExceeded,
    RealtimeClient,
    RealtimeSession,
    RecognitionStarted,
    ServerInfo,
    ServerWarning,
    ServiceError,
    SessionClosed,
    SessionOptions,
    SessionTimeout,
    SpeechmaticsError,
    TimeoutStage,
    TranscriptionConfig,
    TransientServiceError,
    UsageLimitExceeded,
    session as session_module,
)
from custom_components.speechmatics.realtime.session import _coalesced_writes
from tools.speechmatics_server import (
    Close,
    Drop,
    FakeSpeechmatics,
    Hold,
    Notify,
    Ping,
    SendBinary,
    SendJson,
    SendText,
    Stall,
    Trigger,
    tokens,
    transcript_message,
)
from tools.speechmatics_server.server import error, scripted

from .common import (
    assert_closed,
    assert_no_session_tasks,
    collect,
    silent_tcp_server,
    speech,
    stream,
    transcribe,
)
from .conftest import API_KEY, FAST_OPTIONS

CONFIG = TranscriptionConfig(language="en", enable_partials=True)


def fast_client(
    http: aiohttp.ClientSession, url: str, **changes: Any
) -> RealtimeClient:
    """Return a client for a URL with the fast test options, changed as given."""
    options = replace(FAST_OPTIONS, **changes)
    return RealtimeClient(http, API_KEY, url, sdk_id="t", options=options)


async def test_session_transcribes_and_closes(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test a whole session: audio in, events and the final transcript out."""
    audio = speech(2.0)
    async with client.session(CONFIG) as session:
        events_task = asyncio.create_task(collect(session))
        await stream(session, audio)
        text = await session.finish()
        events = await events_task

    assert text == "Turn on the kitchen light."
    assert session.session_id == "fake-session"
    record = fake_speechmatics.sessions[0]
    assert bytes(record.audio) == audio
    assert record.end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": record.frames,
    }
    assert record.headers["Authorization"] == f"Bearer {API_KEY}"
    assert record.query == {"sm-sdk": "tests-0"}
    assert session.stats.audio_bytes_sent == len(audio)
    assert session.stats.frames_acked == record.frames

    kinds = [type(event) for event in events]
    assert kinds[0] is ServerInfo
    assert kinds[1] is RecognitionStarted
    assert kinds[-1] is EndOfTranscript
    assert PartialTranscript in kinds
    finals = [event.text for event in events if isinstance(event, FinalTranscript)]
    assert " ".join(finals) == "Turn on the kitchen light."
    partials = [event.text for event in events if isinstance(event, PartialTranscript)]
    assert partials[0] == "Turn"
    assert events[-1] == EndOfTranscript("Turn on the kitchen light.")
    await assert_closed(fake_speechmatics)


async def test_start_recognition_and_end_of_stream_frames(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
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
    async with client.session(config) as session:
        await stream(session, speech(0.25))
        await session.finish()
    assert fake_speechmatics.sessions[0].received == snapshot


async def test_audio_sent_before_start_is_kept_in_order(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test audio handed over while the session starts is sent, all of it, in order."""
    fake_speechmatics.start_delay = 0.3
    audio = speech(1.5)
    async with client.session(CONFIG) as session:
        await stream(session, audio)
        assert session.started is None
        text = await session.finish()

    record = fake_speechmatics.sessions[0]
    assert text == "Turn on the kitchen light."
    assert bytes(record.audio) == audio
    assert record.end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": record.frames,
    }
    await assert_closed(fake_speechmatics)


async def test_chunks_are_coalesced_into_frames(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test 10 ms chunks go out as frames of the configured duration, tail flushed at end."""
    client = fast_client(http, fake_speechmatics.url, frame_duration=0.05)
    audio = speech(1.0) + b"\x01\x02" * 5  # 1 s and a 10-byte tail
    async with client.session(CONFIG) as session:
        await stream(session, audio)
        await session.finish()

    record = fake_speechmatics.sessions[0]
    assert record.frames == 21  # twenty 50 ms frames of 1600 bytes, then the tail
    assert bytes(record.audio) == audio
    assert record.end_of_stream == {"message": "EndOfStream", "last_seq_no": 21}


async def test_unacknowledged_audio_is_bounded(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test a server that stops acknowledging gets no more than the window, then a timeout."""
    client = fast_client(
        http, fake_speechmatics.url, max_unacked_frames=4, ack_timeout=0.3
    )
    fake_speechmatics.actions[Trigger.frame(2)] = [Stall()]
    async with client.session(CONFIG) as session:
        await session.wait_started()
        with pytest.raises(SessionTimeout) as err:
            await transcribe(session, speech(3.0))
    assert err.value.stage is TimeoutStage.ACK
    record = fake_speechmatics.sessions[0]
    # Two frames were acknowledged, so at most four more were outstanding.
    assert record.frames == 6
    await assert_closed(fake_speechmatics)


async def test_slow_acks_hold_the_sender_back(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test slow acknowledgements throttle a fast source without losing audio."""
    client = fast_client(http, fake_speechmatics.url, max_unacked_frames=2)
    fake_speechmatics.ack_delay = 0.005
    audio = speech(2.0)
    async with client.session(CONFIG) as session:
        await session.wait_started()
        await stream(session, audio)
        text = await session.finish()
    assert text == "Turn on the kitchen light."
    assert bytes(fake_speechmatics.sessions[0].audio) == audio


@pytest.mark.parametrize(
    ("error_type", "exception", "close_code"),
    [
        ("not_authorised", AuthenticationError, 4001),
        ("not_allowed", NotAllowed, 4003),
        ("invalid_model", InvalidConfiguration, 4004),
        ("quota_exceeded", QuotaExceeded, 4005),
        ("timelimit_exceeded", UsageLimitExceeded, 4006),
        ("job_error", TransientServiceError, 4013),
        ("protocol_error", InvalidConfiguration, 1003),
        ("invalid_message", InvalidConfiguration, 1000),
        ("invalid_language", InvalidConfiguration, 1000),
        ("invalid_config", InvalidConfiguration, 1000),
        ("invalid_audio_type", InvalidConfiguration, 1000),
        ("invalid_output_format", InvalidConfiguration, 1000),
        ("idle_timeout", TransientServiceError, 1008),
        ("session_timeout", TransientServiceError, 1008),
        ("unknown_error", TransientServiceError, 1011),
        ("buffer_error", TransientServiceError, 1000),
        ("data_error", TransientServiceError, 1000),
        ("insufficient_funds", UsageLimitExceeded, 1000),
        ("session_transfer", TransientServiceError, 1000),
        ("a_future_error", TransientServiceError, 1000),
    ],
)
@pytest.mark.parametrize("trigger", [Trigger.START, Trigger.frame(3)])
async def test_server_errors(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    error_type: str,
    exception: type[ServiceError],
    close_code: int,
    trigger: str,
) -> None:
    """Test each Error type, before and after the start, keeps type, reason and code."""
    fake_speechmatics.actions[trigger] = error(error_type, "because")
    async with client.session(CONFIG) as session:
        with pytest.raises(exception) as err:
            await transcribe(session, speech(1.0))
    assert err.value.error_type == error_type
    assert err.value.reason == "because"
    assert err.value.close_code == close_code
    assert session.failure is err.value
    await assert_closed(fake_speechmatics)

    fake_speechmatics.actions.clear()
    async with client.session(CONFIG) as session:
        await stream(session, speech(1.0))
        assert await session.finish() == "Turn on the kitchen light."


@pytest.mark.parametrize(
    ("code", "exception"),
    [(4001, AuthenticationError), (4005, QuotaExceeded), (1011, TransientServiceError)],
)
async def test_close_code_without_error_message(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    code: int,
    exception: type[ServiceError],
) -> None:
    """Test a close code that names an error type maps to it without an Error message."""
    fake_speechmatics.actions[Trigger.STARTED] = [Close(code)]
    async with client.session(CONFIG) as session:
        with pytest.raises(exception) as err:
            await session.finish()
    assert err.value.close_code == code


async def test_error_without_close_keeps_no_code(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test an Error not followed by a close is reported after a bounded wait."""
    fake_speechmatics.actions[Trigger.STARTED] = [
        SendJson({"message": "Error", "type": "job_error", "reason": "busy"}),
        Stall(),
    ]
    async with client.session(CONFIG) as session:
        with pytest.raises(TransientServiceError) as err:
            await session.finish()
    assert err.value.close_code is None
    assert err.value.retryable


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (401, AuthenticationError),
        (403, CannotConnect),
        (404, CannotConnect),
        (500, CannotConnect),
    ],
)
async def test_handshake_refused(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    status: int,
    exception: type[Exception],
) -> None:
    """Test an HTTP error at the handshake, including a rejected key."""
    fake_speechmatics.http_status = status
    async with client.session(CONFIG) as session:
        with pytest.raises(exception) as err:
            await session.wait_started()
    assert API_KEY not in str(err.value)
    if isinstance(err.value, CannotConnect):
        assert err.value.status == status
    with pytest.raises(exception):
        await session.send_audio(b"\x00\x00")
    await assert_no_session_tasks()


async def test_wrong_api_key(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test the server's 401 for a wrong key is an authentication error without the key."""
    client = RealtimeClient(
        http, "wrong-key", fake_speechmatics.url, sdk_id="t", options=FAST_OPTIONS
    )
    async with client.session(CONFIG) as session:
        with pytest.raises(AuthenticationError) as err:
            await session.finish()
    assert "wrong-key" not in repr(err.value)
    assert err.value.error_type == "not_authorised"


async def test_connection_refused(
    http: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    """Test nothing listening at the URL is CannotConnect."""
    client = RealtimeClient(
        http,
        API_KEY,
        f"ws://127.0.0.1:{unused_tcp_port}/v2",
        sdk_id="t",
        options=FAST_OPTIONS,
    )
    async with client.session(CONFIG) as session:
        with pytest.raises(CannotConnect) as err:
            await session.finish()
    assert err.value.status is None


async def test_connect_timeout(http: aiohttp.ClientSession) -> None:
    """Test a server that accepts TCP but never answers the upgrade times out."""
    async with silent_tcp_server() as port:
        client = fast_client(http, f"ws://127.0.0.1:{port}/v2", connect_timeout=0.2)
        async with client.session(CONFIG) as session:
            with pytest.raises(SessionTimeout) as err:
                await session.wait_started()
    assert err.value.stage is TimeoutStage.CONNECT
    await assert_no_session_tasks()


async def _end_and_read_events(session: RealtimeSession) -> None:
    """End the audio without waiting, then read the events to their end."""
    await session.end_audio()
    await collect(session)


@pytest.mark.parametrize(
    ("trigger", "stage"),
    [(Trigger.START, TimeoutStage.START), (Trigger.END_OF_STREAM, TimeoutStage.FINISH)],
)
@pytest.mark.parametrize(
    "wait",
    [RealtimeSession.finish, _end_and_read_events],
    ids=["finish", "end_audio_then_events"],
)
async def test_wait_after_the_audio_is_bounded(
    http: aiohttp.ClientSession,
    fake_speechmatics: FakeSpeechmatics,
    trigger: str,
    stage: TimeoutStage,
    wait: Callable[[RealtimeSession], Awaitable[object]],
) -> None:
    """Test the wait after the audio is bounded: for a start still pending, or the end.

    It is a timer of the session: reading events() after end_audio() is bounded too.
    """
    client = fast_client(
        http, fake_speechmatics.url, start_timeout=30, finish_timeout=0.3
    )
    fake_speechmatics.actions[trigger] = [Stall()]
    async with client.session(CONFIG) as session:
        await stream(session, speech(0.5))
        with pytest.raises(SessionTimeout) as err:
            await wait(session)
    assert err.value.stage is stage
    assert err.value.seconds == 0.3
    assert session.failure is err.value
    await assert_closed(fake_speechmatics)


async def test_start_timeout_while_audio_flows(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test a start that never comes fails the session after the start timeout."""
    client = fast_client(http, fake_speechmatics.url, start_timeout=0.3)
    fake_speechmatics.actions[Trigger.START] = [Stall()]
    async with client.session(CONFIG) as session:
        await stream(session, speech(0.5))
        with pytest.raises(SessionTimeout) as err:
            await session.wait_started()
    assert err.value.stage is TimeoutStage.START
    assert err.value.seconds == 0.3
    await assert_closed(fake_speechmatics)


async def test_slow_start_keeps_buffering(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test a start slower than the finish timeout is fine while audio still arrives."""
    client = fast_client(
        http, fake_speechmatics.url, start_timeout=5, finish_timeout=0.2
    )
    fake_speechmatics.start_delay = 0.4
    audio = speech(2.0)
    async with client.session(CONFIG) as session:
        await stream(session, audio)
        await session.wait_started()
        assert await session.finish() == "Turn on the kitchen light."
    assert bytes(fake_speechmatics.sessions[0].audio) == audio


async def test_heartbeat_detects_a_silent_server(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test a server that answers no ping and sends nothing fails the session."""
    client = fast_client(
        http, fake_speechmatics.url, ping_interval=0.05, pong_timeout=0.2
    )
    fake_speechmatics.autoping = False
    fake_speechmatics.actions[Trigger.STARTED] = [Stall()]
    async with client.session(CONFIG) as session:
        with pytest.raises(SessionTimeout) as err:
            async for _event in session.events():
                pass
    assert err.value.stage is TimeoutStage.HEARTBEAT


async def test_heartbeat_keeps_an_idle_session(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test pongs keep a session alive that receives nothing else for many pong timeouts."""
    client = fast_client(
        http, fake_speechmatics.url, ping_interval=0.05, pong_timeout=0.2
    )
    fake_speechmatics.actions[Trigger.STARTED] = [Stall()]
    async with client.session(CONFIG) as session:
        await session.wait_started()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.2):
                await collect(session)
        assert session.failure is None


@pytest.mark.parametrize(
    ("action", "exception"),
    [
        (Drop(), ConnectionClosed),
        (Close(1000), ConnectionClosed),
        (SendText("{not json"), InvalidMessage),
        (SendText("[1, 2]"), InvalidMessage),
        (SendBinary(), InvalidMessage),
        (SendJson({"message": "AudioAdded"}), InvalidMessage),
        (SendJson({"message": "AddTranscript", "results": "nope"}), InvalidMessage),
        (
            SendJson(
                {
                    "message": "AddTranscript",
                    "results": [{"alternatives": [{"content": 5}]}],
                }
            ),
            InvalidMessage,
        ),
        (
            SendJson(
                {
                    "message": "AddTranscript",
                    "results": [{"alternatives": [{}], "start_time": "x"}],
                }
            ),
            InvalidMessage,
        ),
        (SendJson({"message": "AddTranscript", "results": [7]}), InvalidMessage),
        (
            SendJson({"message": "AddTranscript", "results": [], "metadata": []}),
            InvalidMessage,
        ),
    ],
)
async def test_broken_connections_and_frames(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    action: object,
    exception: type[Exception],
) -> None:
    """Test a dropped connection or an invalid frame mid-stream fails the session."""
    fake_speechmatics.actions[Trigger.frame(4)] = [action]  # type: ignore[list-item]
    async with client.session(CONFIG) as session:
        with pytest.raises(exception):
            await transcribe(session, speech(2.0))
    with pytest.raises(exception):
        await collect(session)
    await assert_closed(fake_speechmatics)


@pytest.mark.parametrize(
    "started",
    [
        {"message": "RecognitionStarted", "id": "x", "language_pack_info": []},
        {
            "message": "RecognitionStarted",
            "id": "x",
            "language_pack_info": {"word_delimiter": 1},
        },
    ],
)
async def test_invalid_recognition_started(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    started: dict[str, object],
) -> None:
    """Test a malformed RecognitionStarted fails the start."""
    fake_speechmatics.actions[Trigger.START] = [SendJson(started), Stall()]
    async with client.session(CONFIG) as session:
        with pytest.raises(InvalidMessage):
            await session.wait_started()


async def test_unknown_messages_are_ignored(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
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
    async with client.session(CONFIG) as session:
        events_task = asyncio.create_task(collect(session))
        await stream(session, speech(1.0))
        assert await session.finish() == "Turn on the kitchen light."
        events = await events_task
    assert ServerInfo("a_new_info", "news", {"extra": 1}) in events
    assert ServerWarning("a_new_warning", "careful", {}) in events
    assert "Ignoring unknown message SomethingNew" in caplog.text


async def test_duration_limit_ends_input(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test Warning duration_limit_exceeded stops the audio and the session still ends."""
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
    async with client.session(CONFIG) as session:
        events = session.events()
        await stream(session, speech(0.3))
        async for event in events:
            if isinstance(event, ServerWarning):
                break
        await stream(session, speech(0.5))
        assert await session.finish() == "Turn"
    record = fake_speechmatics.sessions[0]
    assert record.end_of_stream is None
    assert record.frames == 3


async def test_force_end_of_utterance(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test ForceEndOfUtterance goes out after the queued audio and finalises it."""
    async with client.session(CONFIG) as session:
        events_task = asyncio.create_task(collect(session))
        await stream(session, speech(0.7))  # two words
        session.force_end_of_utterance()
        await stream(session, speech(0.1))
        await session.finish()
        events = await events_task
    record = fake_speechmatics.sessions[0]
    names = [m["message"] for m in record.received]
    assert names == ["StartRecognition", "ForceEndOfUtterance", "EndOfStream"]
    finals = [e.text for e in events if isinstance(e, FinalTranscript)]
    assert finals[0] == "Turn on"
    end = next(i for i, e in enumerate(events) if isinstance(e, EndOfUtterance))
    assert isinstance(events[end - 1], FinalTranscript)


@pytest.mark.parametrize("stage", ["connect", "start", "stream", "finish"])
async def test_cancellation_closes_everything(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics, stage: str
) -> None:
    """Test cancelling the caller at each stage closes the socket and every task."""
    fake_speechmatics.start_delay = 0.2 if stage == "start" else 0.0
    if stage == "finish":
        fake_speechmatics.actions[Trigger.END_OF_STREAM] = [Stall()]
    reached = asyncio.Event()

    async def run() -> None:
        async with client.session(CONFIG) as session:
            if stage == "connect":
                reached.set()
            await stream(session, speech(0.3))
            if stage == "start":
                reached.set()
            await session.wait_started()
            if stage == "stream":
                reached.set()
                await asyncio.Event().wait()
            finishing = asyncio.create_task(session.finish())
            await asyncio.sleep(0)
            reached.set()
            await finishing

    task = asyncio.create_task(run())
    async with asyncio.timeout(2):
        await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_no_session_tasks()
    await fake_speechmatics.wait_closed()


async def test_close_is_idempotent_and_blocks_input(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test a closed session refuses audio and closing twice is harmless."""
    session = client.session(CONFIG)
    with pytest.raises(RuntimeError, match="not been started"):
        await session.send_audio(b"\x00\x00")
    with pytest.raises(RuntimeError, match="not been started"):
        await session.wait_started()
    await session.close()
    async with session:
        await session.wait_started()
    await session.close()
    with pytest.raises(SessionClosed):
        await session.send_audio(b"\x00\x00")
    await assert_closed(fake_speechmatics)


async def test_finished_session_refuses_audio(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test audio after finish is refused with a clear error, and finish can be repeated."""
    async with client.session(CONFIG) as session:
        await stream(session, speech(0.2))
        first = await session.finish()
        assert await session.finish() == first
        with pytest.raises(RuntimeError, match="already finished"):
            await session.send_audio(b"\x00\x00")
        with pytest.raises(RuntimeError, match="already finished"):
            session.force_end_of_utterance()


async def test_session_without_audio(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test a session closed with no audio sends EndOfStream with last_seq_no 0."""
    fake_speechmatics.recognizer = scripted("")
    async with client.session(CONFIG) as session:
        assert await session.finish() == ""
    assert fake_speechmatics.sessions[0].end_of_stream == {
        "message": "EndOfStream",
        "last_seq_no": 0,
    }


async def test_file_audio_and_other_encodings(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test file audio is sent in fixed frames and declared as type file."""
    audio = b"RIFF" + bytes(20000)
    async with client.session(CONFIG, AudioFormat.file()) as session:
        await session.send_audio(audio)
        await session.finish()
    record = fake_speechmatics.sessions[0]
    assert record.start is not None
    assert record.start["audio_format"] == {"type": "file"}
    assert bytes(record.audio) == audio
    assert record.frames == 3


async def test_japanese_word_delimiter(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test the language pack's empty word delimiter joins words without spaces."""
    fake_speechmatics.recognizer = scripted("電気 を つけて", word_delimiter="")
    async with client.session(replace(CONFIG, language="ja")) as session:
        await stream(session, speech(1.0))
        assert await session.finish() == "電気をつけて"


async def test_punctuation_only_and_empty_finals(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test the service's punctuation-only and empty finals assemble correctly."""
    fake_speechmatics.recognizer = scripted(
        "Hello. Turn on the light, please.",
        final_every=1,
        punctuation_own_final=True,
        empty_messages=True,
    )
    async with client.session(CONFIG) as session:
        await stream(session, speech(3.0))
        assert await session.finish() == "Hello. Turn on the light, please."


async def test_no_api_key_sends_no_authorization(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test an on-prem endpoint without a key gets no Authorization header."""
    fake_speechmatics.api_key = None
    client = RealtimeClient(
        http, "", fake_speechmatics.url, sdk_id="t", options=FAST_OPTIONS
    )
    async with client.session(CONFIG) as session:
        await session.finish()
    assert "Authorization" not in fake_speechmatics.sessions[0].headers


async def test_client_options_are_validated() -> None:
    """Test impossible options and URLs are refused at once."""
    with pytest.raises(ValueError, match="frame_duration"):
        SessionOptions(frame_duration=0)
    with pytest.raises(ValueError, match="max_unacked_frames"):
        SessionOptions(max_unacked_frames=0)


async def test_server_ping_is_answered(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test the client answers the server's pings, and empty audio is a no-op."""
    fake_speechmatics.autoping = False
    fake_speechmatics.actions[Trigger.STARTED] = [Ping()]
    async with client.session(CONFIG) as session:
        await session.send_audio(b"")
        await stream(session, speech(1.0))
        await session.finish()
    record = fake_speechmatics.sessions[0]
    assert record.pongs == 1
    assert len(record.audio) == 32000


async def test_unexpected_errors_fail_the_session(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test an error nobody expected ends the session as a failure, not as a short text."""

    async def broken_connect(*_args: object, **_kwargs: object) -> None:
        reason = "resolver on another loop"
        raise RuntimeError(reason)

    monkeypatch.setattr(aiohttp.ClientSession, "ws_connect", broken_connect)
    async with client.session(CONFIG) as session:
        with pytest.raises(
            SpeechmaticsError,
            match="unexpected error: RuntimeError: resolver on another loop",
        ):
            await transcribe(session, speech(0.5))


async def test_event_callback_sees_events_first(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test on_event gets every event as it arrives; a failing callback breaks nothing."""
    seen: list[object] = []

    def on_event(event: object) -> None:
        seen.append(event)
        if len(seen) == 2:
            reason = "callback bug"
            raise RuntimeError(reason)

    async with client.session(CONFIG, on_event=on_event) as session:
        events_task = asyncio.create_task(collect(session))
        assert await transcribe(session, speech(1.0)) == "Turn on the kitchen light."
        events = await events_task
    assert seen == events
    assert "Error in the event callback" in caplog.text


class _SocketOnly:
    """Stands in for a WebSocket: only the transport's socket is asked for."""

    def __init__(self, sock: socket.socket | None) -> None:
        self._sock = sock

    def get_extra_info(self, name: str) -> socket.socket | None:
        assert name == "socket"
        return self._sock


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="Linux only")
async def test_last_frame_and_end_of_stream_leave_together() -> None:
    """Test the writes at the end are corked into one segment, then released."""
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as sock,
    ):
        ws: Any = _SocketOnly(sock)

        def corked() -> int:
            return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK)

        with _coalesced_writes(ws):
            assert corked()
        assert not corked()
        failure = ConnectionClosed("sending failed")
        with pytest.raises(ConnectionClosed), _coalesced_writes(ws):
            raise failure
        assert not corked()
    # A closed socket or a transport without one: the writes go out as they are.
    for ws in (_SocketOnly(sock), _SocketOnly(None)):
        with _coalesced_writes(ws):
            pass


def _note_end_senders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Return the names of the tasks that will send the end of the stream."""
    senders: list[str] = []
    send_end = RealtimeSession._send_end

    async def noted(self: RealtimeSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        task = asyncio.current_task()
        senders.append(task.get_name() if task else "")
        await send_end(self, ws)

    monkeypatch.setattr(RealtimeSession, "_send_end", noted)
    return senders


async def _stream_until_a_final(session: RealtimeSession) -> None:
    """Send a second of audio; return once a final shows the server has frames.

    The sender sends every whole frame in one turn, so it is idle by then.
    """
    caller = asyncio.current_task()
    assert caller is not None
    caller.set_name("caller")
    await stream(session, speech(1.0))
    async for event in session.events():
        if isinstance(event, FinalTranscript):
            return


async def test_finish_sends_the_end_itself_when_the_sender_is_idle(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test the end leaves from finish() when nothing is queued: no turn of the loop."""
    senders = _note_end_senders(monkeypatch)
    async with client.session(CONFIG) as session:
        await _stream_until_a_final(session)
        assert await session.finish() == "Turn on the kitchen light."
    assert senders == ["caller"]
    record = fake_speechmatics.sessions[0]
    assert len(record.audio) == 32000
    assert record.end_of_stream == {"message": "EndOfStream", "last_seq_no": 10}


async def test_busy_sender_sends_the_end(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test audio still queued at finish() goes first, then the sender sends the end."""
    senders = _note_end_senders(monkeypatch)
    async with client.session(CONFIG) as session:
        assert await transcribe(session, speech(1.0)) == "Turn on the kitchen light."
    assert senders == ["speechmatics send"]
    assert len(fake_speechmatics.sessions[0].audio) == 32000


async def test_failed_end_from_finish_fails_the_session(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test a failure to send the end from finish() is the session's error."""
    senders = _note_end_senders(monkeypatch)
    send_str = aiohttp.ClientWebSocketResponse.send_str

    async def failing(
        self: aiohttp.ClientWebSocketResponse, data: str, compress: int | None = None
    ) -> None:
        if "EndOfStream" in data:
            reason = "connection lost"
            raise aiohttp.ClientConnectionResetError(reason)
        await send_str(self, data, compress)

    monkeypatch.setattr(aiohttp.ClientWebSocketResponse, "send_str", failing)
    async with client.session(CONFIG) as session:
        await _stream_until_a_final(session)
        with pytest.raises(ConnectionClosed, match="sending EndOfStream failed"):
            await session.finish()
    assert senders == ["caller"]
    await assert_no_session_tasks()


async def test_end_audio_does_not_wait_for_the_transcript(
    client: RealtimeClient, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test end_audio() returns with the end sent; events() bring the transcript."""
    ended, release = asyncio.Event(), asyncio.Event()
    fake_speechmatics.actions[Trigger.END_OF_STREAM] = [Notify(ended), Hold(release)]
    async with client.session(CONFIG) as session:
        await stream(session, speech(1.0))
        await session.end_audio()  # returns while the server holds the transcript
        async with asyncio.timeout(5):
            await ended.wait()
        assert not session.complete
        release.set()
        events = await collect(session)
        await session.end_audio()  # once is enough; again is harmless
        assert await session.finish() == "Turn on the kitchen light."
    assert events[-1] == EndOfTranscript("Turn on the kitchen light.")
    assert session.complete
    record = fake_speechmatics.sessions[0]
    assert len(record.audio) == 32000
    assert record.end_of_stream == {"message": "EndOfStream", "last_seq_no": 10}


async def test_finish_timeout_ends_with_the_session(
    http: aiohttp.ClientSession, fake_speechmatics: FakeSpeechmatics
) -> None:
    """Test a complete session is not failed later by its finish timeout."""
    client = fast_client(http, fake_speechmatics.url, finish_timeout=1.0)
    async with client.session(CONFIG) as session:
        assert await transcribe(session, speech(1.0)) == "Turn on the kitchen light."
        await asyncio.sleep(1.2)  # past the finish timeout: nothing may happen
    assert session.complete
    assert session.failure is None


async def test_close_that_cannot_finish_is_given_up(
    client: RealtimeClient,
    fake_speechmatics: FakeSpeechmatics,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test the session ends when its close frame cannot be written.

    aiohttp's close waits for a full send buffer to drain, with no bound of its own: a
    server that reads nothing more would keep the session (and its caller) for ever.
    """
    monkeypatch.setattr(session_module, "_WS_CLOSE_BOUND", 0.1)
    stuck: list[aiohttp.ClientWebSocketResponse] = []

    async def never_closes(
        self: aiohttp.ClientWebSocketResponse,
        *,
        code: int = 1000,
        message: bytes = b"",
    ) -> bool:
        stuck.append(self)
        try:
            await asyncio.Event().wait()  # the buffer never drains
        finally:
            # What aiohttp's close does when it is cancelled there.
            self._response.close()
        return True

    monkeypatch.setattr(aiohttp.ClientWebSocketResponse, "close", never_closes)
    async with asyncio.timeout(5):  # without the bound, this would never end
        async with client.session(CONFIG) as session:
            assert (
                await transcribe(session, speech(1.0)) == "Turn on the kitchen light."
            )
    assert len(stuck) == 1
    assert session.complete
    await assert_no_session_tasks()
