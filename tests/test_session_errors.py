"""A Realtime session's failures: the service's errors, broken connections and timeouts."""

from __future__ import annotations

import asyncio
import logging
import traceback

import aiohttp
import pytest

from custom_components.speechmatics.realtime import (
    AudioSourceError,
    AuthenticationError,
    CannotConnect,
    ConnectionClosed,
    InvalidConfiguration,
    InvalidMessage,
    NotAllowed,
    QuotaExceeded,
    RealtimeClient,
    RecognitionStarted,
    ServiceError,
    SessionClosed,
    SessionTimeout,
    SpeechmaticsError,
    TimeoutStage,
    TranscriptionConfig,
    TransientServiceError,
    TransportError,
    UsageLimitExceeded,
)
from tools.speechmatics_server import (
    Close,
    Drop,
    RealtimeServer,
    SendBinary,
    SendJson,
    SendText,
    Stall,
    Trigger,
    error,
)

from .common import (
    TEXT,
    assert_closed,
    assert_no_session_tasks,
    audio_stream,
    held_audio,
    silent_tcp_server,
    speech,
    transcribe,
)
from .conftest import API_KEY, FAST_OPTIONS, fast_client

CONFIG = TranscriptionConfig(language="en", enable_partials=True)


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
    fake_speechmatics: RealtimeServer,
    error_type: str,
    exception: type[ServiceError],
    close_code: int,
    trigger: str,
) -> None:
    """Test each Error type, before and after the start, keeps type, reason and code."""
    fake_speechmatics.actions[trigger] = error(error_type, "because")
    session = client.session(CONFIG)
    with pytest.raises(exception) as err:
        await transcribe(session, speech(1.0))
    assert err.value.error_type == error_type
    assert err.value.reason == "because"
    assert err.value.close_code == close_code
    assert session.failure is err.value
    await assert_closed(fake_speechmatics)

    fake_speechmatics.actions.clear()
    assert await transcribe(client.session(CONFIG), speech(1.0)) == TEXT


@pytest.mark.parametrize(
    ("code", "exception"),
    [(4001, AuthenticationError), (4005, QuotaExceeded), (1011, TransientServiceError)],
)
async def test_close_code_without_error_message(
    client: RealtimeClient,
    fake_speechmatics: RealtimeServer,
    code: int,
    exception: type[ServiceError],
) -> None:
    """Test a close code that names an error type maps to it without an Error message."""
    fake_speechmatics.actions[Trigger.STARTED] = [Close(code)]
    with pytest.raises(exception) as err:
        await transcribe(client.session(CONFIG), b"")
    assert err.value.close_code == code


async def test_error_without_close_keeps_no_code(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test an Error not followed by a close is reported after a bounded wait."""
    fake_speechmatics.actions[Trigger.STARTED] = [
        SendJson({"message": "Error", "type": "job_error", "reason": "busy"}),
        Stall(),
    ]
    with pytest.raises(TransientServiceError) as err:
        await transcribe(client.session(CONFIG), b"")
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
    fake_speechmatics: RealtimeServer,
    status: int,
    exception: type[Exception],
) -> None:
    """Test an HTTP error at the handshake, including a rejected key."""
    fake_speechmatics.http_status = status
    session = client.session(CONFIG)
    with pytest.raises(exception) as err:
        await transcribe(session, speech(0.2))
    assert session.failure is err.value
    if isinstance(err.value, CannotConnect):
        assert err.value.status == status
    assert isinstance(err.value, ServiceError | TransportError)
    await assert_no_session_tasks()


def _chain(err: BaseException) -> list[BaseException]:
    """Return an exception with every exception chained to it."""
    chain: list[BaseException] = []
    pending: list[BaseException | None] = [err]
    while pending:
        if (current := pending.pop()) is not None and current not in chain:
            chain.append(current)
            pending += [current.__cause__, current.__context__]
    return chain


@pytest.mark.parametrize("status", [401, 403])
async def test_the_api_key_never_leaves_through_an_error(
    client: RealtimeClient,
    fake_speechmatics: RealtimeServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    """Test a refused handshake's error holds no trace of the key, chained or logged.

    aiohttp's handshake error keeps the request's headers, Authorization among them.
    """
    caplog.set_level(logging.DEBUG)
    fake_speechmatics.http_status = status
    session = client.session(CONFIG)
    with pytest.raises(SpeechmaticsError) as err:
        await transcribe(session, speech(0.2))
    chain = _chain(err.value)
    assert all(API_KEY not in repr(e) and API_KEY not in str(e) for e in chain)
    assert all(not isinstance(e, aiohttp.ClientResponseError) for e in chain)
    assert API_KEY not in "".join(traceback.format_exception(err.value))
    logging.getLogger(__name__).debug("failed", exc_info=err.value)
    assert API_KEY not in caplog.text


async def test_wrong_api_key(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test the server's 401 for a wrong key is an authentication error without the key."""
    client = RealtimeClient(
        http, "wrong-key", fake_speechmatics.url, sdk_id="t", options=FAST_OPTIONS
    )
    with pytest.raises(AuthenticationError) as err:
        await transcribe(client.session(CONFIG), b"")
    assert "wrong-key" not in repr(err.value)
    assert err.value.error_type == "not_authorised"


async def test_connection_refused(
    http: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    """Test nothing listening at the URL is CannotConnect."""
    client = fast_client(http, f"ws://127.0.0.1:{unused_tcp_port}/v2")
    with pytest.raises(CannotConnect) as err:
        await transcribe(client.session(CONFIG), b"")
    assert err.value.status is None


async def test_connect_timeout(http: aiohttp.ClientSession) -> None:
    """Test a server that accepts TCP but never answers the upgrade times out."""
    async with silent_tcp_server() as port:
        client = fast_client(http, f"ws://127.0.0.1:{port}/v2", connect_timeout=0.2)
        with pytest.raises(SessionTimeout) as err:
            await transcribe(client.session(CONFIG), held_audio(b"", asyncio.Event()))
    assert err.value.stage is TimeoutStage.CONNECT
    await assert_no_session_tasks()


@pytest.mark.parametrize(
    ("trigger", "stage"),
    [(Trigger.START, TimeoutStage.START), (Trigger.END_OF_STREAM, TimeoutStage.FINISH)],
)
async def test_wait_after_the_audio_is_bounded(
    http: aiohttp.ClientSession,
    fake_speechmatics: RealtimeServer,
    trigger: str,
    stage: TimeoutStage,
) -> None:
    """Test the wait after the audio is bounded: for a start still pending, or the end."""
    client = fast_client(
        http, fake_speechmatics.url, start_timeout=30, finish_timeout=0.3
    )
    fake_speechmatics.actions[trigger] = [Stall()]
    session = client.session(CONFIG)
    with pytest.raises(SessionTimeout) as err:
        await transcribe(session, speech(0.5))
    assert err.value.stage is stage
    assert err.value.seconds == 0.3
    assert session.failure is err.value
    await assert_closed(fake_speechmatics)


async def test_start_timeout_while_audio_flows(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test a start that never comes fails the session after the start timeout."""
    client = fast_client(http, fake_speechmatics.url, start_timeout=0.3)
    fake_speechmatics.actions[Trigger.START] = [Stall()]
    with pytest.raises(SessionTimeout) as err:
        await transcribe(
            client.session(CONFIG), held_audio(speech(0.5), asyncio.Event())
        )
    assert err.value.stage is TimeoutStage.START
    assert err.value.seconds == 0.3
    await assert_closed(fake_speechmatics)


async def test_slow_start_keeps_buffering(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test a start slower than the finish timeout is fine while audio still arrives."""
    client = fast_client(
        http, fake_speechmatics.url, start_timeout=5, finish_timeout=0.2
    )
    fake_speechmatics.start_delay = 0.4
    audio, started = speech(2.0), asyncio.Event()
    session = client.session(CONFIG)
    async for event in session.transcribe(held_audio(audio, started)):
        if isinstance(event, RecognitionStarted):
            started.set()  # the user stops speaking once the service has started
    assert session.transcript.final_text == TEXT
    assert bytes(fake_speechmatics.sessions[0].audio) == audio


async def test_unacknowledged_audio_is_bounded(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test a server that stops acknowledging gets no more than the window, then a timeout."""
    client = fast_client(
        http, fake_speechmatics.url, max_unacked_frames=4, ack_timeout=0.3
    )
    fake_speechmatics.actions[Trigger.frame(2)] = [Stall()]
    with pytest.raises(SessionTimeout) as err:
        await transcribe(client.session(CONFIG), speech(3.0))
    assert err.value.stage is TimeoutStage.ACK
    record = fake_speechmatics.sessions[0]
    # Two frames were acknowledged, so at most four more were outstanding.
    assert record.frames == 6
    await assert_closed(fake_speechmatics)


async def test_heartbeat_detects_a_silent_server(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test a server that answers no ping and sends nothing fails the session."""
    client = fast_client(
        http, fake_speechmatics.url, ping_interval=0.05, pong_timeout=0.2
    )
    fake_speechmatics.autoping = False
    fake_speechmatics.actions[Trigger.STARTED] = [Stall()]
    with pytest.raises(SessionTimeout) as err:
        await transcribe(client.session(CONFIG), held_audio(b"", asyncio.Event()))
    assert err.value.stage is TimeoutStage.HEARTBEAT


async def test_heartbeat_keeps_an_idle_session(
    http: aiohttp.ClientSession, fake_speechmatics: RealtimeServer
) -> None:
    """Test pongs keep a session alive that receives nothing else for many pong timeouts."""
    client = fast_client(
        http, fake_speechmatics.url, ping_interval=0.05, pong_timeout=0.2
    )
    fake_speechmatics.actions[Trigger.STARTED] = [Stall()]
    session = client.session(CONFIG)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.2):
            await transcribe(session, held_audio(b"", asyncio.Event()))
    # Stopped by the timeout above, not failed by the heartbeat before it.
    assert isinstance(session.failure, SessionClosed)


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
    ids=[
        "drop",
        "close",
        "not_json",
        "not_a_message",
        "binary",
        "ack_without_seq_no",
        "results_not_a_list",
        "content_not_a_string",
        "time_not_a_number",
        "result_not_an_object",
        "metadata_not_an_object",
    ],
)
async def test_broken_connections_and_frames(
    client: RealtimeClient,
    fake_speechmatics: RealtimeServer,
    action: object,
    exception: type[Exception],
) -> None:
    """Test a dropped connection or an invalid frame mid-stream fails the session."""
    fake_speechmatics.actions[Trigger.frame(4)] = [action]  # type: ignore[list-item]
    session = client.session(CONFIG)
    with pytest.raises(exception):
        await transcribe(session, speech(2.0))
    assert isinstance(session.failure, exception)
    await assert_closed(fake_speechmatics)


@pytest.mark.parametrize(
    ("action", "cause"),
    [
        (SendText(b'{"message": "\xff"}'), "Invalid UTF-8 text message"),
        (SendText("x" * (4 * 2**20 + 1)), "Message size"),
    ],
    ids=["not_utf8", "too_large"],
)
async def test_unreadable_frames_are_invalid_messages_with_their_cause(
    client: RealtimeClient,
    fake_speechmatics: RealtimeServer,
    action: SendText,
    cause: str,
) -> None:
    """Test a frame aiohttp cannot read is the server's invalid message, not an outage."""
    fake_speechmatics.actions[Trigger.frame(2)] = [action]
    with pytest.raises(InvalidMessage, match="the server sent an invalid frame") as err:
        await transcribe(client.session(CONFIG), speech(1.0))
    assert cause in str(err.value)
    assert not isinstance(err.value, TransportError)


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
    fake_speechmatics: RealtimeServer,
    started: dict[str, object],
) -> None:
    """Test a malformed RecognitionStarted fails the start."""
    fake_speechmatics.actions[Trigger.START] = [SendJson(started), Stall()]
    with pytest.raises(InvalidMessage):
        await transcribe(client.session(CONFIG), held_audio(b"", asyncio.Event()))


async def test_failing_audio_source_fails_the_session(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test the caller's audio raising ends the session with AudioSourceError, its cause kept."""
    fault = ConnectionResetError("satellite gone")

    async def broken() -> object:
        async for chunk in audio_stream(speech(0.5)):
            yield chunk
        raise fault

    with pytest.raises(AudioSourceError) as err:
        await transcribe(client.session(CONFIG), broken())  # type: ignore[arg-type]
    assert err.value.__cause__ is fault
    await assert_closed(fake_speechmatics)


async def test_failed_end_of_stream_fails_the_session(
    client: RealtimeClient,
    fake_speechmatics: RealtimeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test a failure to send EndOfStream is the session's error (after a bounded wait)."""
    send_str = aiohttp.ClientWebSocketResponse.send_str

    async def failing(
        self: aiohttp.ClientWebSocketResponse, data: str, compress: int | None = None
    ) -> None:
        if "EndOfStream" in data:
            reason = "connection lost"
            raise aiohttp.ClientConnectionResetError(reason)
        await send_str(self, data, compress)

    monkeypatch.setattr(aiohttp.ClientWebSocketResponse, "send_str", failing)
    with pytest.raises(ConnectionClosed, match="sending EndOfStream failed"):
        await transcribe(client.session(CONFIG), speech(1.0))
    await assert_no_session_tasks()


async def test_unexpected_errors_fail_the_session(
    client: RealtimeClient,
    fake_speechmatics: RealtimeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test an error nobody expected ends the session as a failure, not as a short text."""

    async def broken_connect(*_args: object, **_kwargs: object) -> None:
        reason = "resolver on another loop"
        raise RuntimeError(reason)

    monkeypatch.setattr(aiohttp.ClientSession, "ws_connect", broken_connect)
    with pytest.raises(
        SpeechmaticsError,
        match="unexpected error: RuntimeError: resolver on another loop",
    ):
        await transcribe(client.session(CONFIG), speech(0.5))
