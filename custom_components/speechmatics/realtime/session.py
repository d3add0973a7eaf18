"""One Speechmatics Realtime session over one WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
import contextlib
from dataclasses import dataclass
import json
import logging
import socket
from types import TracebackType
from typing import Any, Final, Self

import aiohttp
from orjson import loads as json_loads  # Home Assistant's JSON parser: 3x json's speed
from yarl import URL

from . import messages
from .errors import (
    CannotConnect,
    ConnectionClosed,
    InvalidMessage,
    SessionClosed,
    SessionTimeout,
    SpeechmaticsError,
    TimeoutStage,
    error_for_close_code,
    service_error,
)
from .models import (
    AudioFormat,
    EndOfTranscript,
    EndOfUtterance,
    FinalTranscript,
    PartialTranscript,
    RealtimeEvent,
    RecognitionStarted,
    ServerInfo,
    ServerMessageType,
    ServerWarning,
    TranscriptionConfig,
)
from .transcript import Transcript, render

_LOGGER = logging.getLogger(__name__)

# After an Error message the server closes the socket; wait this long for its close code.
_ERROR_CLOSE_WAIT = 1.0
_FILE_FRAME_BYTES = 8192
_NOT_AUTHORISED = "not_authorised"
_CLOSED_TYPES = frozenset(
    {aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
)
_WS_CLOSE_TIMEOUT = 1.0
# aiohttp bounds only the wait for the server's close frame, not the write of ours.
_WS_CLOSE_BOUND = 2 * _WS_CLOSE_TIMEOUT


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Timeouts (seconds) and streaming parameters of a session."""

    connect_timeout: float = 10.0
    # Starting can take up to 15 s with a large additional_vocab.
    start_timeout: float = 20.0
    ack_timeout: float = 10.0
    finish_timeout: float = 10.0
    ping_interval: float = 30.0
    pong_timeout: float = 60.0
    frame_duration: float = 0.1
    max_unacked_frames: int = 50

    def __post_init__(self) -> None:
        """Refuse values that cannot work."""
        if self.frame_duration <= 0 or self.max_unacked_frames < 1:
            msg = "frame_duration must be positive and max_unacked_frames at least 1"
            raise ValueError(msg)


@dataclass(slots=True)
class SessionStats:
    """What went over the wire."""

    audio_bytes_in: int = 0
    audio_bytes_sent: int = 0
    frames_sent: int = 0
    frames_acked: int = 0


class RealtimeSession:
    """A Realtime session: send audio in, get events and the transcript out.

    Use it as an async context manager. The connection opens in the background, so
    audio can be sent at once: it is kept and sent in order once the session starts.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: URL,
        api_key: str | None,
        transcription_config: TranscriptionConfig,
        audio_format: AudioFormat,
        options: SessionOptions,
        on_event: Callable[[RealtimeEvent], None] | None = None,
    ) -> None:
        """Prepare a session; nothing is sent before it is entered.

        on_event, when given, is called with every event as soon as it arrives, before
        events() yields it: for work that must not wait for the consumer.
        """
        self._on_event = on_event
        self._http = http
        self._url = url
        self._api_key = api_key
        self._start_message = messages.start_recognition(
            transcription_config, audio_format
        )
        self._options = options
        self._frame_bytes = _frame_bytes(audio_format, options.frame_duration)
        self.transcript = Transcript()
        self.stats = SessionStats()
        self.started: RecognitionStarted | None = None
        self._pending = bytearray()
        self._input_ended = False
        self._input_closed_by_server = False
        self._force_end_of_utterance = 0
        self._failure: SpeechmaticsError | None = None
        self._events: asyncio.Queue[RealtimeEvent | None] = asyncio.Queue()
        self._wake_sender = asyncio.Event()
        self._acked = asyncio.Event()
        self._drained = asyncio.Event()
        self._started_event = asyncio.Event()
        self._finished = asyncio.Event()
        self._last_received = 0.0
        self._run_task: asyncio.Task[None] | None = None
        # While streaming: the socket, the sender task and whether it waits for audio.
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._sender: asyncio.Task[None] | None = None
        self._sender_idle = False
        # end_audio() sent the end itself (and how that went): the sender only returns.
        self._end_sent_directly = False
        self._end_failure: SpeechmaticsError | None = None
        self._finish_timer: asyncio.TimerHandle | None = None

    @property
    def session_id(self) -> str | None:
        """Return Speechmatics' id of the session, once it has started."""
        return self.started.session_id if self.started else None

    @property
    def failure(self) -> SpeechmaticsError | None:
        """Return the error that ended the session, if one did."""
        return self._failure

    async def __aenter__(self) -> Self:
        """Open the connection in the background."""
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the connection, whatever happened."""
        await self.close()

    def start(self) -> None:
        """Open the connection and start recognition in the background."""
        if self._run_task is None:
            self._run_task = asyncio.create_task(
                self._run(), name="speechmatics session"
            )

    @property
    def complete(self) -> bool:
        """Return whether the whole transcript arrived (EndOfTranscript, no failure)."""
        return self._finished.is_set() and self._failure is None

    async def close(self) -> None:
        """Close the connection, stopping the session if it is not complete.

        A complete session closes gracefully (bounded by the WebSocket close timeout);
        safe to call more than once.
        """
        task = self._run_task
        if task is None or task.done():
            return
        if not self.complete:
            task.cancel()
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise

    async def send_audio(self, data: bytes) -> None:
        """Queue audio; waits only while too much sent audio is still unacknowledged."""
        self._raise_if_unusable()
        if not data:
            return
        self._pending += data
        self.stats.audio_bytes_in += len(data)
        if len(self._pending) >= self._frame_bytes:
            # Less than a frame waits for more audio (or the end, or the start).
            self._wake_sender.set()
        high_water = self._frame_bytes * self._options.max_unacked_frames
        if self.started is not None and len(self._pending) > high_water:
            self._drained.clear()
            await self._wait(self._drained, TimeoutStage.ACK, self._options.ack_timeout)

    def force_end_of_utterance(self) -> None:
        """Ask the server to finalise what it heard so far, after the audio queued now."""
        self._raise_if_unusable()
        self._force_end_of_utterance += 1
        self._wake_sender.set()

    async def wait_started(self) -> RecognitionStarted:
        """Wait until recognition has started (bounded by the connect and start timeouts)."""
        self._require_started()
        await self._started_event.wait()
        self._raise_if_failed()
        assert self.started is not None  # noqa: S101  # set before the event
        return self.started

    async def end_audio(self) -> None:
        """Send the rest of the audio and EndOfStream; do not wait for the transcript.

        From here the transcript must end within the finish timeout (a start still
        pending included), or the session fails with SessionTimeout, which events()
        and finish() raise. Safe to call more than once.
        """
        self._require_started()
        if self._input_ended:
            return
        self._input_ended = True
        if self._run_task is not None and not self._run_task.done():
            self._finish_timer = asyncio.get_running_loop().call_later(
                self._options.finish_timeout, self._finish_timed_out
            )
        if not await self._send_end_now():
            self._wake_sender.set()

    async def finish(self) -> str:
        """End the audio (see end_audio) and return the final transcript.

        Waits for the start if it is still pending, then for every remaining final and
        EndOfTranscript: all of it bounded by the finish timeout.
        """
        await self.end_audio()
        await self._finished.wait()
        self._raise_if_failed()
        return self.transcript.final_text

    def _finish_timed_out(self) -> None:
        """Fail the session: the transcript did not end in time after the audio."""
        stage = TimeoutStage.FINISH if self.started else TimeoutStage.START
        self._fail(SessionTimeout(stage, self._options.finish_timeout))

    async def _send_end_now(self) -> bool:
        """Send the end from here when the sender is idle; return whether it was.

        The end of speech is when latency counts: this saves a turn of the loop. A
        failure is handed to the sender, which raises it as its own.
        """
        ws, sender = self._ws, self._sender
        # Idle and not woken: no frame, ForceEndOfUtterance or server's stop is queued.
        if (
            ws is None
            or sender is None
            or not self._sender_idle
            or self._wake_sender.is_set()
            or self.stats.frames_sent - self.stats.frames_acked
            >= self._options.max_unacked_frames
        ):
            return False
        self._end_sent_directly = True
        try:
            await self._send_end(ws)
        except SpeechmaticsError as err:
            self._end_failure = err
            if sender.done():  # it went while the send waited: nobody else can raise
                self._fail(err)
        finally:
            self._wake_sender.set()
        return True

    async def events(self) -> AsyncGenerator[RealtimeEvent]:
        """Yield events as they arrive, up to EndOfTranscript; raise what ended the session."""
        while (event := await self._events.get()) is not None:
            yield event
            if isinstance(event, EndOfTranscript):
                return
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        """Raise the error that ended the session, if any."""
        if self._failure is not None:
            raise self._failure

    def _raise_if_unusable(self) -> None:
        """Raise when no more input can be taken."""
        self._raise_if_failed()
        if self._input_ended:
            msg = "the session has already finished"
            raise RuntimeError(msg)
        self._require_started()

    def _require_started(self) -> None:
        """Raise when start() (or entering the session) has not happened."""
        if self._run_task is None:
            msg = "the session has not been started"
            raise RuntimeError(msg)

    async def _wait(
        self, event: asyncio.Event, stage: TimeoutStage, seconds: float
    ) -> None:
        """Wait for an event of the session, or for the session to end."""
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError as err:
            failure = SessionTimeout(stage, seconds)
            self._fail(failure)
            raise failure from err
        self._raise_if_failed()

    def _fail(self, error: SpeechmaticsError) -> None:
        """Record the first error that ends the session and stop it."""
        if self._failure is None:
            self._failure = error
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()

    async def _run(self) -> None:
        """Connect, start recognition and stream until the transcript ends."""
        ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            ws = await self._connect()
            await self._send_json(ws, self._start_message)
            try:
                async with asyncio.timeout(self._options.start_timeout):
                    while self.started is None:
                        await self._receive(ws)
            except TimeoutError as err:
                raise SessionTimeout(
                    TimeoutStage.START, self._options.start_timeout
                ) from err
            await self._stream(ws)
        except SpeechmaticsError as err:
            if self._failure is None:
                self._failure = err
            _LOGGER.debug("Session %s failed: %s", self.session_id, str(err))
        except Exception as err:
            # Whatever fails in here must end the session as a failure, never as a
            # transcript cut short.
            _LOGGER.debug(
                "Session %s failed unexpectedly", self.session_id, exc_info=True
            )
            if self._failure is None:
                msg = f"unexpected error: {type(err).__name__}: {err}"
                self._failure = SpeechmaticsError(msg)
        except asyncio.CancelledError:
            if self._failure is None and not self._finished.is_set():
                self._failure = SessionClosed("the session was closed before the end")
            raise
        finally:
            if self._finish_timer is not None:
                self._finish_timer.cancel()
            if ws is not None:
                await _close_websocket(ws)
            for event in (self._started_event, self._finished, self._drained):
                event.set()
            self._events.put_nowait(None)

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        """Open the WebSocket with the API key in the Authorization header."""
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            async with asyncio.timeout(self._options.connect_timeout):
                ws = await self._http.ws_connect(
                    self._url,
                    headers=headers,
                    autoping=False,
                    timeout=aiohttp.ClientWSTimeout(ws_close=_WS_CLOSE_TIMEOUT),
                )
        except TimeoutError as err:
            raise SessionTimeout(
                TimeoutStage.CONNECT, self._options.connect_timeout
            ) from err
        except aiohttp.WSServerHandshakeError as err:
            if err.status == 401:
                reason = "the API key was rejected (HTTP 401)"
                raise service_error(_NOT_AUTHORISED, reason) from err
            msg = f"the server refused the WebSocket with HTTP {err.status}"
            raise CannotConnect(msg, status=err.status) from err
        except (aiohttp.ClientError, OSError) as err:
            msg = f"cannot connect to {self._url.host}: {type(err).__name__}: {err}"
            raise CannotConnect(msg) from err
        self._last_received = asyncio.get_running_loop().time()
        return ws

    async def _stream(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send and receive at once until EndOfTranscript, or until one side fails."""
        receiver = asyncio.create_task(
            self._receive_until_end(ws), name="speechmatics receive"
        )
        sender = asyncio.create_task(self._send_loop(ws), name="speechmatics send")
        self._ws, self._sender = ws, sender
        heartbeat = asyncio.create_task(
            self._heartbeat(ws), name="speechmatics heartbeat"
        )
        tasks = (receiver, sender, heartbeat)
        try:
            while not receiver.done():
                await asyncio.wait(
                    [task for task in tasks if not task.done()],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if sender.done() and sender.exception() and not receiver.done():
                    # A failed send means the server is closing: the receiver is about
                    # to learn why (an Error message or a close code).
                    await asyncio.wait({receiver}, timeout=_ERROR_CLOSE_WAIT)
                for task in tasks:
                    if task.done() and (err := task.exception()) is not None:
                        raise err
        finally:
            self._ws = self._sender = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _send_json(
        self, ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]
    ) -> None:
        """Send one JSON message."""
        try:
            await ws.send_str(json.dumps(message))
        except (aiohttp.ClientError, ConnectionError) as err:
            msg = f"sending {message['message']} failed: {err}"
            raise ConnectionClosed(msg, close_code=ws.close_code) from err

    async def _send_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send audio frames, ForceEndOfUtterance and finally EndOfStream, in order."""
        frame_bytes = self._frame_bytes
        # What arrived before the start goes out at once, even less than a frame: the
        # server can begin while the next frame fills.
        flush_buffered = True
        while not self._input_closed_by_server:
            if self._end_sent_directly:
                if self._end_failure is not None:
                    raise self._end_failure
                return
            if (
                self._input_ended
                and not self._force_end_of_utterance
                and len(self._pending) <= frame_bytes
            ):
                await self._send_end(ws)
                return
            # The end of the input is sent by _send_end above, unless a
            # ForceEndOfUtterance must go out first.
            flush = flush_buffered or self._force_end_of_utterance > 0
            if len(self._pending) >= frame_bytes or (flush and self._pending):
                await self._wait_for_window()
                frame = bytes(self._pending[:frame_bytes])
                del self._pending[:frame_bytes]
                flush_buffered = flush_buffered and bool(self._pending)
                await self._send_frame(ws, frame)
            elif self._force_end_of_utterance:
                self._force_end_of_utterance -= 1
                await self._send_json(ws, messages.force_end_of_utterance())
            else:
                self._wake_sender.clear()
                self._sender_idle = True
                try:
                    await self._wake_sender.wait()
                finally:
                    self._sender_idle = False

    async def _send_end(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send the last frame and EndOfStream in one TCP segment.

        The end of speech is when latency counts: one segment wakes the server once,
        where two writes cost two wake-ups.
        """
        if self._pending:
            await self._wait_for_window()
        with _coalesced_writes(ws):
            if self._pending:
                frame = bytes(self._pending)
                self._pending.clear()
                await self._send_frame(ws, frame)
            await self._send_json(ws, messages.end_of_stream(self.stats.frames_sent))

    async def _send_frame(
        self, ws: aiohttp.ClientWebSocketResponse, frame: bytes
    ) -> None:
        """Send one AddAudio frame."""
        try:
            await ws.send_bytes(frame)
        except (aiohttp.ClientError, ConnectionError) as err:
            msg = f"sending audio failed: {err}"
            raise ConnectionClosed(msg, close_code=ws.close_code) from err
        self.stats.frames_sent += 1
        self.stats.audio_bytes_sent += len(frame)
        if len(self._pending) <= self._frame_bytes:
            self._drained.set()

    async def _wait_for_window(self) -> None:
        """Wait until fewer than max_unacked_frames frames are unacknowledged."""
        window = self._options.max_unacked_frames
        if self.stats.frames_sent - self.stats.frames_acked < window:
            return
        try:
            async with asyncio.timeout(self._options.ack_timeout):
                while self.stats.frames_sent - self.stats.frames_acked >= window:
                    self._acked.clear()
                    await self._acked.wait()
        except TimeoutError as err:
            raise SessionTimeout(TimeoutStage.ACK, self._options.ack_timeout) from err

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Ping the server; fail when it has sent nothing for the pong timeout."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._options.ping_interval)
            if loop.time() - self._last_received >= self._options.pong_timeout:
                raise SessionTimeout(TimeoutStage.HEARTBEAT, self._options.pong_timeout)
            await ws.ping()

    async def _receive_until_end(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Handle server messages until EndOfTranscript."""
        while not self._finished.is_set():
            await self._receive(ws)

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Receive and handle one WebSocket message."""
        message = await ws.receive()
        self._last_received = asyncio.get_running_loop().time()
        match message.type:
            case aiohttp.WSMsgType.TEXT:
                await self._handle_text(ws, message.data)
            case aiohttp.WSMsgType.PING:
                await ws.pong(message.data)
            case aiohttp.WSMsgType.PONG:
                pass
            case aiohttp.WSMsgType.BINARY:
                msg = "the server sent a binary frame"
                raise InvalidMessage(msg)
            case (
                aiohttp.WSMsgType.CLOSE
                | aiohttp.WSMsgType.CLOSING
                | aiohttp.WSMsgType.CLOSED
            ):
                raise self._closed_error(ws.close_code)
            case _:
                msg = f"connection failed: {ws.exception() or message.type.name}"
                raise ConnectionClosed(msg, close_code=ws.close_code)

    @staticmethod
    def _closed_error(close_code: int | None) -> SpeechmaticsError:
        """Return the error for a connection the server closed too early."""
        error = error_for_close_code(close_code)
        if error is not None:
            return error
        msg = f"the server closed the connection before the end (code {close_code})"
        return ConnectionClosed(msg, close_code=close_code)

    async def _handle_text(
        self, ws: aiohttp.ClientWebSocketResponse, text: str
    ) -> None:
        """Parse and act on one JSON message."""
        try:
            message = json_loads(text)
        except ValueError as err:
            msg = "the server sent a frame that is not JSON"
            raise InvalidMessage(msg) from err
        if not isinstance(message, dict) or not isinstance(message.get("message"), str):
            msg = "the server sent JSON that is not a message"
            raise InvalidMessage(msg)
        name = message["message"]
        if name == ServerMessageType.AUDIO_ADDED:
            self.stats.frames_acked = max(
                self.stats.frames_acked, messages.parse_seq_no(message)
            )
            self._acked.set()
            return
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("Received %s", text[:500])
        if name == ServerMessageType.ERROR:
            raise await self._error_with_close_code(ws, message)
        if (handler := self._HANDLERS.get(name)) is None:
            _LOGGER.debug("Ignoring unknown message %s", name)
            return
        handler(self, message)

    def _on_recognition_started(self, message: dict[str, Any]) -> None:
        """Take the session id and word delimiter; let audio flow."""
        self.started = messages.parse_recognition_started(message)
        self.transcript.word_delimiter = self.started.word_delimiter
        self._started_event.set()
        self._wake_sender.set()
        self._emit(self.started)

    def _on_partial(self, message: dict[str, Any]) -> None:
        """Replace the partial tail of the transcript."""
        results = messages.parse_results(message)
        self.transcript.set_partial(results)
        text = render(results, self.transcript.word_delimiter)
        start, end = messages.parse_times(message)
        self._emit(PartialTranscript(text, results, start, end, self.transcript.text))

    def _on_final(self, message: dict[str, Any]) -> None:
        """Append a final segment to the transcript."""
        results = messages.parse_results(message)
        self.transcript.add_final(results)
        text = render(results, self.transcript.word_delimiter)
        start, end = messages.parse_times(message)
        self._emit(FinalTranscript(text, results, start, end, self.transcript.text))

    def _on_end_of_utterance(self, message: dict[str, Any]) -> None:
        """Report that the speaker paused."""
        self._emit(EndOfUtterance(*messages.parse_times(message)))

    def _on_end_of_transcript(self, _message: dict[str, Any]) -> None:
        """Complete the session."""
        self._finished.set()
        self._emit(EndOfTranscript(self.transcript.final_text))

    def _on_info(self, message: dict[str, Any]) -> None:
        """Report an Info message."""
        self._emit(ServerInfo(*messages.notice_fields(message)))

    def _on_warning(self, message: dict[str, Any]) -> None:
        """Act on a Warning: past the duration limit, the server takes no more audio."""
        warning = ServerWarning(*messages.notice_fields(message))
        _LOGGER.debug("Warning from the server: %s: %s", warning.type, warning.reason)
        if warning.type == "duration_limit_exceeded":
            self._input_closed_by_server = True
            self._wake_sender.set()
        self._emit(warning)

    _HANDLERS: Final[dict[str, Callable[[RealtimeSession, dict[str, Any]], None]]] = {
        ServerMessageType.RECOGNITION_STARTED: _on_recognition_started,
        ServerMessageType.ADD_PARTIAL_TRANSCRIPT: _on_partial,
        ServerMessageType.ADD_TRANSCRIPT: _on_final,
        ServerMessageType.END_OF_UTTERANCE: _on_end_of_utterance,
        ServerMessageType.END_OF_TRANSCRIPT: _on_end_of_transcript,
        ServerMessageType.INFO: _on_info,
        ServerMessageType.WARNING: _on_warning,
    }

    async def _error_with_close_code(
        self, ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]
    ) -> SpeechmaticsError:
        """Return the exception for an Error message, with the close code that follows."""
        error_type, reason, _ = messages.notice_fields(message)
        close_code: int | None = None
        try:
            async with asyncio.timeout(_ERROR_CLOSE_WAIT):
                while True:
                    received = await ws.receive()
                    if received.type is aiohttp.WSMsgType.CLOSE:
                        close_code = received.data
                        break
                    if received.type in _CLOSED_TYPES:
                        close_code = ws.close_code
                        break
        except TimeoutError:
            pass
        return service_error(error_type, reason, close_code=close_code)

    def _emit(self, event: RealtimeEvent) -> None:
        """Hand an event to the callback and to the events() iterator."""
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                _LOGGER.exception("Error in the event callback")
        self._events.put_nowait(event)


@contextlib.contextmanager
def _coalesced_writes(ws: aiohttp.ClientWebSocketResponse) -> Iterator[None]:
    """Hold back the writes of the block and send them together when it ends.

    Uses TCP_CORK where there is one (Linux); elsewhere the writes go out as they are.
    The kernel sends a corked segment after 200 ms at the latest, so nothing can stick.
    """
    sock = ws.get_extra_info("socket")
    cork = getattr(socket, "TCP_CORK", None)
    corked = False
    if sock is not None and cork is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, cork, 1)
            corked = True
    try:
        yield
    finally:
        if corked:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, cork, 0)


async def _close_websocket(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Close the WebSocket, giving up after _WS_CLOSE_BOUND.

    Writing the close frame waits while the send buffer is full: a server that reads
    nothing more would hold it for ever. Given up, aiohttp releases the connection, and
    the socket closes once its buffer is out or the connection dies.
    """
    try:
        async with asyncio.timeout(_WS_CLOSE_BOUND):
            await ws.close()
    except TimeoutError:
        _LOGGER.debug("The WebSocket did not close within %s s", _WS_CLOSE_BOUND)


def _frame_bytes(audio_format: AudioFormat, frame_duration: float) -> int:
    """Return the size of one audio frame, a whole number of samples."""
    bytes_per_second = audio_format.bytes_per_second
    if bytes_per_second is None:
        return _FILE_FRAME_BYTES
    width = audio_format.sample_width
    return max(width, round(bytes_per_second * frame_duration / width) * width)
