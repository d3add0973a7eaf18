"""Every fault the service and the network can produce, through the real assist pipeline.

Each case asserts the pipeline outcome, the log line, the config entry's state, that
the WebSocket and every session task are gone, and that the next run works. The faults
that can happen before the transcript is complete run again with a fallback engine,
which must answer with exactly the run's audio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
import logging
from typing import Any

import aiohttp
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics import SESSION_OPTIONS
from custom_components.speechmatics.const import (
    CONF_END_OF_SPEECH,
    CONF_FALLBACK_STT,
    DOMAIN,
    END_OF_SPEECH_MODES,
    END_OF_SPEECH_SPEECHMATICS,
)
from custom_components.speechmatics.health import (
    ISSUE_QUOTA,
    ISSUE_USAGE_LIMIT,
    issue_id,
)
from custom_components.speechmatics.realtime import RealtimeClient, SessionOptions
from tools.speechmatics_server import (
    ERROR_CLOSE_CODES,
    Close,
    Drop,
    Notify,
    RealtimeServer,
    SendBinary,
    SendJson,
    SendText,
    Stall,
    Trigger,
    error,
)

from .common import (
    ENTITY_ID,
    FALLBACK_ID,
    FALLBACK_TEXT,
    TEXT,
    RecordingSpeechToText,
    Timeline,
    assert_no_session_tasks,
    chunks,
    counted,
    metadata,
    outcome,
    run_pipeline,
    silent_tcp_server,
    speech,
    start_run,
)
from .conftest import API_KEY, ENTRY_ID, config_entry

pytestmark = pytest.mark.usefixtures("pipeline")

FAILED = "stt-stream-failed"


@pytest.fixture(params=END_OF_SPEECH_MODES)
def end_of_speech(request: pytest.FixtureRequest) -> str:
    """Run every case with Speechmatics and with Home Assistant deciding the end of speech."""
    return str(request.param)


@pytest.fixture
def fallback() -> bool:
    """Run without a fallback engine, unless the case asks for one."""
    return False


with_and_without_fallback = pytest.mark.parametrize(
    "fallback", [False, True], ids=["alone", "fallback"]
)


@pytest.fixture
def mock_config_entry(
    fake_speechmatics: RealtimeServer,
    end_of_speech: str,
    fallback: bool,
    recorder: RecordingSpeechToText,
) -> MockConfigEntry:
    """Return a config entry for the fake server, in the case's end-of-speech mode."""
    options: dict[str, Any] = {CONF_END_OF_SPEECH: end_of_speech}
    if fallback:
        options[CONF_FALLBACK_STT] = FALLBACK_ID
    return config_entry(fake_speechmatics.url, options)


def assert_failed(
    timeline: Timeline,
    caplog: pytest.LogCaptureFixture,
    recorder: RecordingSpeechToText,
    audio: bytes,
    *,
    fallback: bool,
) -> None:
    """Assert the run failed, or that the fallback answered it from the whole audio.

    No event of Speechmatics claims to be final either way.
    """
    speechmatics = [t for t in timeline.transcripts if t["engine"] == "speechmatics"]
    assert not any(t["is_final"] for t in speechmatics)
    if not fallback:
        assert outcome(timeline) == FAILED
        assert recorder.runs == []
        return
    assert outcome(timeline) == FALLBACK_TEXT
    assert recorder.runs == [audio]  # nothing lost, nothing twice
    assert timeline.transcripts[-1] == {
        "entity_id": ENTITY_ID,
        "session_id": timeline.transcripts[-1]["session_id"],
        "text": FALLBACK_TEXT,
        "is_final": True,
        "engine": "fallback",
    }
    assert f"The fallback {FALLBACK_ID} answered" in caplog.text


async def run(hass: HomeAssistant, audio: bytes | None = None) -> Timeline:
    """Run the speech-to-text stage once; return what happened."""
    timeline = Timeline(hass)
    await run_pipeline(hass, timeline, speech(2.0) if audio is None else audio)
    return timeline


async def assert_clean_and_recovers(
    hass: HomeAssistant, fake: RealtimeServer, entry: MockConfigEntry
) -> None:
    """Assert nothing is left open, then that the next run succeeds."""
    await fake.wait_closed()
    assert fake.open_connections == 0
    await assert_no_session_tasks()
    assert entry.state is ConfigEntryState.LOADED
    fake.clear_faults()
    timeline = await run(hass)
    assert outcome(timeline) == TEXT
    assert timeline.transcripts[-1]["is_final"]
    await fake.wait_closed()
    await assert_no_session_tasks()


def use_client(
    entry: MockConfigEntry,
    http: aiohttp.ClientSession,
    url: str,
    options: SessionOptions = SESSION_OPTIONS,
) -> None:
    """Point the loaded entry at another URL or options (a fault after setup)."""
    entry.runtime_data.client = RealtimeClient(
        http, API_KEY, url, sdk_id="tests", options=options
    )


def reauth_flows(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Return the reauthentication flows in progress."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


@with_and_without_fallback
@pytest.mark.parametrize("status", [401, 403, 404, 500])
async def test_handshake_refused(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    recorder: RecordingSpeechToText,
    fallback: bool,
    status: int,
) -> None:
    """Test an HTTP error at the handshake fails the run with a clear log line."""
    fake_speechmatics.http_status = status
    timeline = await run(hass)
    assert_failed(timeline, caplog, recorder, speech(2.0), fallback=fallback)
    assert len(timeline.transcripts) == fallback
    if status == 401:
        assert "Speechmatics rejected the API key" in caplog.text
        assert len(reauth_flows(hass)) == 1
    else:
        assert (
            f"Speechmatics is unreachable: the server refused the WebSocket with HTTP {status}"
            in caplog.text
        )
        assert not reauth_flows(hass)
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


@pytest.mark.parametrize(
    ("network", "log"),
    [
        (
            "tls",
            "Speechmatics is unreachable: cannot connect to 127.0.0.1: ClientConnectorSSLError",
        ),
        (
            "dns",
            "Speechmatics is unreachable: cannot connect to speechmatics.invalid: ClientConnectorDNSError",
        ),
        ("refused", "Speechmatics is unreachable: cannot connect to 127.0.0.1"),
        (
            "timeout",
            "Speechmatics is unreachable: No answer from the server within 0.3 s (connect)",
        ),
    ],
)
@with_and_without_fallback
async def test_network_failures(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    http: aiohttp.ClientSession,
    unused_tcp_port: int,
    recorder: RecordingSpeechToText,
    fallback: bool,
    network: str,
    log: str,
) -> None:
    """Test TLS and DNS failures, a refused connection and a connect timeout."""
    options = replace(SESSION_OPTIONS, connect_timeout=0.3)
    port = fake_speechmatics.url.split(":")[2].split("/")[0]
    async with silent_tcp_server() as silent_port:
        url = {
            "tls": f"wss://127.0.0.1:{port}/v2",
            "dns": "ws://speechmatics.invalid/v2",
            "refused": f"ws://127.0.0.1:{unused_tcp_port}/v2",
            "timeout": f"ws://127.0.0.1:{silent_port}/v2",
        }[network]
        # A plain session: the test harness breaks DNS lookups on Home Assistant's own.
        use_client(setup_integration, http, url, options)
        timeline = await run(hass)
    assert_failed(timeline, caplog, recorder, speech(2.0), fallback=fallback)
    assert log in caplog.text
    await assert_no_session_tasks()
    use_client(setup_integration, async_get_clientsession(hass), fake_speechmatics.url)
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)
    assert "Speechmatics is reachable again" in caplog.text


ERROR_TYPES = [
    "invalid_message",
    "invalid_model",
    "invalid_language",
    "invalid_config",
    "invalid_audio_type",
    "invalid_output_format",
    "not_authorised",
    "not_allowed",
    "job_error",
    "protocol_error",
    "quota_exceeded",
    "timelimit_exceeded",
    "idle_timeout",
    "session_timeout",
    "unknown_error",
    "buffer_error",
    "data_error",
    "insufficient_funds",
    "session_transfer",
]


@with_and_without_fallback
@pytest.mark.parametrize("error_type", ERROR_TYPES)
@pytest.mark.parametrize(
    "trigger", [Trigger.START, Trigger.frame(4)], ids=["before_start", "after_start"]
)
@pytest.mark.parametrize("close_code", [True, False], ids=["close_code", "plain_close"])
async def test_service_errors(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_registry: ir.IssueRegistry,
    recorder: RecordingSpeechToText,
    fallback: bool,
    error_type: str,
    trigger: str,
    close_code: bool,
) -> None:
    """Test every Error type, before and after the start, with and without its close code."""
    actions = error(error_type, "injected")
    if not close_code:
        actions = [actions[0], Close(1000)]
    fake_speechmatics.actions[trigger] = actions
    timeline = await run(hass)
    assert_failed(timeline, caplog, recorder, speech(2.0), fallback=fallback)
    if error_type == "not_authorised":
        assert (
            "Speechmatics rejected the API key: not_authorised: injected" in caplog.text
        )
        assert len(reauth_flows(hass)) == 1
    else:
        assert (
            f"Speech-to-text with Speechmatics failed: {error_type}: injected"
            in caplog.text
        )
        assert not reauth_flows(hass)
    kind = {
        "quota_exceeded": ISSUE_QUOTA,
        "timelimit_exceeded": ISSUE_USAGE_LIMIT,
        "insufficient_funds": ISSUE_USAGE_LIMIT,
    }.get(error_type)
    issues = {i for (domain, i) in issue_registry.issues if domain == DOMAIN}
    assert issues == ({issue_id(kind, ENTRY_ID)} if kind else set())
    if close_code and error_type in ERROR_CLOSE_CODES:
        assert setup_integration.runtime_data.health.last_error is not None
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)
    assert not {i for (domain, i) in issue_registry.issues if domain == DOMAIN}


def test_documented_timeouts() -> None:
    """Test the bounds the README documents: a voice user waits at most 8 s after speaking."""
    assert SESSION_OPTIONS.connect_timeout == 5.0
    assert (
        SESSION_OPTIONS.start_timeout == 20.0
    )  # a large vocabulary may take 15 s to start
    assert SESSION_OPTIONS.ack_timeout == 5.0
    assert SESSION_OPTIONS.finish_timeout == 8.0
    assert SESSION_OPTIONS.pong_timeout == 60.0


@pytest.mark.parametrize(
    ("stall", "audio_seconds", "log"),
    [
        (Trigger.START, 2.0, "No answer from the server within 8 s (start)"),
        (Trigger.frame(2), 6.0, "No answer from the server within 5 s (ack)"),
        # The audio ends before the pause that would end the turn.
        (Trigger.END_OF_STREAM, 1.6, "No answer from the server within 8 s (finish)"),
    ],
    ids=["no_recognition_started", "no_acks", "no_end_of_transcript"],
)
@with_and_without_fallback
async def test_server_stalls_are_bounded(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    recorder: RecordingSpeechToText,
    fallback: bool,
    stall: str,
    audio_seconds: float,
    log: str,
) -> None:
    """Test each stall ends the run after the documented timeout (production values)."""
    fake_speechmatics.actions[stall] = [Stall()]
    timeline = await run(hass, speech(audio_seconds))
    assert_failed(timeline, caplog, recorder, speech(audio_seconds), fallback=fallback)
    assert f"Speechmatics is unreachable: {log}" in caplog.text
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


@pytest.mark.parametrize(
    ("action", "log"),
    [
        (
            Drop(),
            "Speechmatics is unreachable: the server closed the connection before the end",
        ),
        (
            Close(1000),
            "Speechmatics is unreachable: the server closed the connection before the end (code 1000)",
        ),
        (
            SendText("{oops"),
            "Speech-to-text with Speechmatics failed: the server sent a frame that is not JSON",
        ),
        (
            SendBinary(),
            "Speech-to-text with Speechmatics failed: the server sent a binary frame",
        ),
        (
            SendText(b'{"message": "\xff"}'),
            "Speech-to-text with Speechmatics failed: the server sent an invalid frame: Invalid UTF-8 text message",
        ),
        (
            SendText("x" * (4 * 2**20 + 1)),
            "Speech-to-text with Speechmatics failed: the server sent an invalid frame: Message size",
        ),
    ],
    ids=["drop", "close", "malformed_json", "binary_frame", "not_utf8", "too_large"],
)
@with_and_without_fallback
async def test_broken_stream_is_never_a_truncated_success(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    recorder: RecordingSpeechToText,
    fallback: bool,
    action: Any,
    log: str,
) -> None:
    """Test a broken connection after some finals fails the run; no event claims is_final."""
    fake_speechmatics.actions[Trigger.frame(12)] = [action]
    timeline = await run(hass)
    assert_failed(timeline, caplog, recorder, speech(2.0), fallback=fallback)
    assert len(timeline.transcripts) > fallback
    assert log in caplog.text
    if "invalid frame" in log:
        assert "unreachable" not in caplog.text
        assert setup_integration.runtime_data.health.available
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


@pytest.mark.parametrize(
    "message",
    [
        {"message": "SomethingNew", "detail": 1},
        {"message": "Info", "type": "a_new_info", "reason": "news"},
        {"message": "Warning", "type": "a_new_warning", "reason": "careful"},
        {"message": "Warning", "type": "add_audio_after_eos", "reason": "late audio"},
    ],
    ids=["unknown_message", "unknown_info", "unknown_warning", "add_audio_after_eos"],
)
async def test_unknown_messages_do_not_fail_the_run(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    message: dict[str, Any],
) -> None:
    """Test messages the client does not know are tolerated."""
    fake_speechmatics.actions[Trigger.STARTED] = [SendJson(message)]
    fake_speechmatics.actions[Trigger.frame(5)] = [SendJson(message)]
    timeline = await run(hass)
    assert outcome(timeline) == TEXT
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


async def test_duration_limit_ends_like_end_of_stream(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test the duration limit ends the run with what was heard up to it."""
    fake_speechmatics.duration_limit_frames = 9
    timeline = await run(hass)
    # What came after the limit is not in the transcript (the client-side order of
    # EndOfStream and the warning is covered in test_realtime_session).
    assert outcome(timeline) == "Turn on the"
    assert timeline.transcripts[-1] == {
        **timeline.transcripts[-1],
        "text": "Turn on the",
        "is_final": True,
        "engine": "speechmatics",
    }
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


@pytest.mark.parametrize("ending", ["end_of_transcript", "duration_limit"])
async def test_a_transcript_the_server_finished_returns_at_once(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    ending: str,
) -> None:
    """Test a transcript the service ended while the user still speaks comes at once.

    Home Assistant's stream is still open (its voice detection has not ended it): the
    run returns the transcript without waiting for it, and reads no more of it.
    """
    if ending == "duration_limit":
        fake_speechmatics.duration_limit_frames = 9
    else:
        # "Turn on the" is final by then; the service ends the transcript there.
        fake_speechmatics.actions[Trigger.frame(9)] = [
            SendJson({"message": "EndOfTranscript"})
        ]
    release = asyncio.Event()
    timeline, task = await start_run(hass, held_stream(release))
    async with asyncio.timeout(5):
        await task
    assert not release.is_set()
    assert outcome(timeline) == "Turn on the"
    assert timeline.transcripts[-1]["is_final"]
    await fake_speechmatics.wait_closed()
    assert len(fake_speechmatics.sessions[-1].audio) == 32000
    release.set()
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


@pytest.mark.parametrize(
    "fault",
    [[Drop()], [Close(1000)], error("unknown_error"), error("job_error"), [Stall()]],
    ids=["drop", "close", "unknown_error", "job_error", "stall"],
)
@pytest.mark.parametrize("end_of_speech", [END_OF_SPEECH_SPEECHMATICS])
async def test_a_fault_after_the_early_return_keeps_the_result(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: list[Any],
) -> None:
    """Test a fault while the session finishes after the turn leaves the result whole.

    The run has returned the transcript; the fault ends only the session, in the
    background: no failure is reported and nothing is left running.
    """
    use_client(
        setup_integration,
        async_get_clientsession(hass),
        fake_speechmatics.url,
        replace(SESSION_OPTIONS, finish_timeout=0.5),
    )
    reached = asyncio.Event()
    fake_speechmatics.actions[Trigger.END_OF_STREAM] = [Notify(reached), *fault]
    release = asyncio.Event()
    timeline, task = await start_run(hass, held_stream(release, speech(2.5)))
    async with asyncio.timeout(5):
        await task
    assert outcome(timeline) == TEXT
    assert timeline.transcripts[-1] == {
        "entity_id": ENTITY_ID,
        "session_id": "fake-session",
        "text": TEXT,
        "is_final": True,
        "engine": "speechmatics",
    }
    async with asyncio.timeout(5):
        await reached.wait()
    await fake_speechmatics.wait_closed()
    await assert_no_session_tasks()
    assert not release.is_set()
    assert "Speechmatics is unreachable" not in caplog.text
    assert "Speech-to-text with Speechmatics failed" not in caplog.text
    assert not [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.speechmatics")
        and record.levelno > logging.DEBUG
    ]
    use_client(setup_integration, async_get_clientsession(hass), fake_speechmatics.url)
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


async def test_audio_is_held_back_while_the_service_is_slow_to_start(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test a fast source (the HTTP STT API) is not read into memory before the start.

    At most a window of audio is kept, then the source waits; a start that never comes
    fails the run at the start timeout.
    """
    options = replace(SESSION_OPTIONS, start_timeout=0.5, max_unacked_frames=4)
    use_client(
        setup_integration, async_get_clientsession(hass), fake_speechmatics.url, options
    )
    fake_speechmatics.actions[Trigger.START] = [Stall()]
    read = [0]
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(
        metadata(), counted(speech(60.0), read)
    )
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert "No answer from the server within 0.5 s (start)" in caplog.text
    assert read[0] <= 4 * 3200 + 320  # the window, and the chunk that passed it
    use_client(setup_integration, async_get_clientsession(hass), fake_speechmatics.url)
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


async def test_the_api_key_never_reaches_the_log(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test refused handshakes log no trace of the key, at debug level, tracebacks included."""
    caplog.set_level(logging.DEBUG)
    for status in (401, 403):
        fake_speechmatics.http_status = status
        assert outcome(await run(hass)) == FAILED
    assert setup_integration.runtime_data.health.last_error is not None
    for status, state in (
        (403, ConfigEntryState.SETUP_RETRY),
        (401, ConfigEntryState.SETUP_ERROR),
    ):
        fake_speechmatics.http_status = status
        assert not await hass.config_entries.async_reload(setup_integration.entry_id)
        await hass.async_block_till_done()
        assert setup_integration.state is state
    assert "HTTP 401" in caplog.text
    assert "Bearer" not in caplog.text
    assert API_KEY not in caplog.text


async def held_stream(
    release: asyncio.Event, audio: bytes | None = None
) -> AsyncIterator[bytes]:
    """Stream audio (one second), then hold the stream open like a user still speaking."""
    for chunk in chunks(speech(1.0) if audio is None else audio):
        yield chunk
    await release.wait()


STAGES: dict[str, Callable[[RealtimeServer, asyncio.Event], None]] = {
    "connecting": lambda fake, reached: fake.actions.__setitem__(
        Trigger.START, [Notify(reached), Stall()]
    ),
    "streaming": lambda fake, reached: fake.actions.__setitem__(
        Trigger.frame(5), [Notify(reached)]
    ),
    "finishing": lambda fake, reached: fake.actions.__setitem__(
        Trigger.END_OF_STREAM, [Notify(reached), Stall()]
    ),
}


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize(
    "interruption", ["satellite_disconnects", "entry_unloaded", "entry_reloaded"]
)
async def test_interrupted_runs_close_everything(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    stage: str,
    interruption: str,
) -> None:
    """Test a run interrupted at each stage leaves no socket or task, and Assist goes on."""
    reached, release = asyncio.Event(), asyncio.Event()
    STAGES[stage](fake_speechmatics, reached)
    stream = held_stream(release) if stage != "finishing" else _finite(speech(1.0))
    timeline, task = await start_run(hass, stream)
    async with asyncio.timeout(5):
        await reached.wait()
    fake_speechmatics.clear_faults()  # a reload proves the endpoint again

    if interruption == "satellite_disconnects":
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        if interruption == "entry_unloaded":
            assert await hass.config_entries.async_unload(setup_integration.entry_id)
        else:
            assert await hass.config_entries.async_reload(setup_integration.entry_id)
        async with asyncio.timeout(5):
            await task
        assert outcome(timeline) == FAILED
        assert "Speech-to-text was stopped" in caplog.text
    release.set()
    await fake_speechmatics.wait_closed()
    assert fake_speechmatics.open_connections == 0
    await assert_no_session_tasks()
    assert not any(t["is_final"] for t in timeline.transcripts)

    if interruption == "entry_unloaded":
        assert await hass.config_entries.async_setup(setup_integration.entry_id)
        await hass.async_block_till_done()
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


async def _finite(audio: bytes) -> AsyncIterator[bytes]:
    """Stream audio and end."""
    for chunk in chunks(audio):
        yield chunk


# Home Assistant's chat session helper leaves its cleanup timer behind a stop.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_home_assistant_stopping_ends_the_run(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test stopping Home Assistant during a run closes the session and ends the run."""
    reached, release = asyncio.Event(), asyncio.Event()
    fake_speechmatics.actions[Trigger.frame(5)] = [Notify(reached)]
    timeline, task = await start_run(hass, held_stream(release))
    async with asyncio.timeout(5):
        await reached.wait()
    await hass.async_stop()
    async with asyncio.timeout(5):
        await task
    assert outcome(timeline) == FAILED
    release.set()
    await fake_speechmatics.wait_closed()
    await assert_no_session_tasks()


async def test_invalid_key_starts_reauth_once(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test repeated runs with a rejected key start one reauthentication, not one each."""
    fake_speechmatics.api_key = "rotated-key"
    for _ in range(3):
        assert outcome(await run(hass)) == FAILED
    assert len(reauth_flows(hass)) == 1


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [("quota_exceeded", ISSUE_QUOTA), ("timelimit_exceeded", ISSUE_USAGE_LIMIT)],
)
async def test_plan_limits_raise_a_repair_issue_until_a_session_succeeds(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    error_type: str,
    kind: str,
) -> None:
    """Test quota and usage limits explain themselves in Repairs and clear on success."""
    assert outcome(await run(hass)) == TEXT  # a success before: nothing to clear
    fake_speechmatics.actions[Trigger.START] = error(error_type, "limit reached")
    assert outcome(await run(hass)) == FAILED
    assert outcome(await run(hass)) == FAILED
    issue = issue_registry.async_get_issue(DOMAIN, issue_id(kind, ENTRY_ID))
    assert issue is not None
    assert issue.translation_key == kind
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "title": setup_integration.title,
        "reason": "limit reached",
    }

    fake_speechmatics.clear_faults()
    assert outcome(await run(hass)) == TEXT
    assert issue_registry.async_get_issue(DOMAIN, issue_id(kind, ENTRY_ID)) is None


async def test_repair_issue_from_before_a_restart_clears_on_success(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Test an issue Home Assistant kept from its last run is gone after a success."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(ISSUE_QUOTA, ENTRY_ID),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_QUOTA,
    )
    assert outcome(await run(hass)) == TEXT
    assert (
        issue_registry.async_get_issue(DOMAIN, issue_id(ISSUE_QUOTA, ENTRY_ID)) is None
    )


async def test_unreachable_is_logged_once_and_back_once(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test an outage logs one line when it starts and one when it ends."""
    fake_speechmatics.http_status = 503
    for _ in range(3):
        assert outcome(await run(hass)) == FAILED
    fake_speechmatics.clear_faults()
    for _ in range(2):
        assert outcome(await run(hass)) == TEXT
    assert caplog.text.count("Speechmatics is unreachable") == 1
    assert caplog.text.count("Speechmatics is reachable again") == 1
    assert setup_integration.runtime_data.health.available


async def test_audio_stream_raising_mid_run(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Test Home Assistant's audio stream raising ends the run cleanly."""

    async def broken() -> AsyncIterator[bytes]:
        for chunk in chunks(speech(0.5)):
            yield chunk
        reason = "satellite reset"
        raise ConnectionResetError(reason)

    timeline, task = await start_run(hass, broken())
    async with asyncio.timeout(5):
        await task
    assert outcome(timeline) == FAILED
    assert (
        "The audio stream failed: ConnectionResetError('satellite reset')"
        in caplog.text
    )
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)


async def test_audio_stream_without_audio(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test a stream with no audio at all opens no session and recognises nothing."""
    sessions = len(fake_speechmatics.sessions)
    timeline = await run(hass, b"")
    assert outcome(timeline) == "stt-no-text-recognized"
    assert len(fake_speechmatics.sessions) == sessions
    await assert_clean_and_recovers(hass, fake_speechmatics, setup_integration)
