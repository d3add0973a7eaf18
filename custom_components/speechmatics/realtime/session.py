"""One Speechmatics Realtime session: the caller's audio in, events and the transcript out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
import logging
from typing import Any, Final

import aiohttp
from yarl import URL

from . import messages
from .config import AudioFormat, SessionOptions, TranscriptionConfig, Turn
from .connection import ERROR_CLOSE_WAIT, Connection, connect
from .errors import (
    AudioSourceError,
    ConnectionClosed,
    InvalidMessage,
    SessionClosed,
    SessionTimeout,
    SpeechmaticsError,
    TimeoutStage,
    TooManySessions,
)
from .events import (
    EndOfTranscript,
    EndOfTurn,
    EndOfUtterance,
    FinalTranscript,
    PartialTranscript,
    RealtimeEvent,
    RecognitionStarted,
    ServerInfo,
    ServerWarning,
    TurnEnd,
)
from .messages import ServerMessageType
from .sender import AudioSender, SessionStats
from .transcript import Transcript, render

_LOGGER = logging.getLogger(__name__)

_DURATION_LIMIT_EXCEEDED = "duration_limit_exceeded"
_TRANSCRIPTS = frozenset(
    {ServerMessageType.ADD_PARTIAL_TRANSCRIPT, ServerMessageType.ADD_TRANSCRIPT}
)


class RealtimeSession:
    """A Realtime session; `transcribe` runs it over one audio stream.

    The connection opens when transcribe starts and the audio is read from then on, in
    a task of the session: what arrives before the service has started is kept and sent
    in order, at most a window of it (then the source is held back). With a Turn the
    session also ends with the speaker's turn (see Turn).
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: URL,
        api_key: str | None,
        transcription_config: TranscriptionConfig,
        audio_format: AudioFormat,
        options: SessionOptions,
        open_sessions: set[RealtimeSession],
        max_open: int | None = None,
        turn: Turn | None = None,
    ) -> None:
        """Prepare a session; nothing is sent before transcribe.

        open_sessions is the set of the client's sessions that are open: this one is in
        it from transcribe until its socket is closed, and refuses to start (with
        TooManySessions) when max_open of them are open already. A turn needs the
        service's end of utterance: an end_of_utterance_silence_trigger above 0.
        """
        if (
            turn is not None
            and not transcription_config.end_of_utterance_silence_trigger
        ):
            msg = "a turn needs an end_of_utterance_silence_trigger above 0"
            raise ValueError(msg)
        self._http = http
        self._url = url
        self._api_key = api_key
        self._start_message = messages.start_recognition(
            transcription_config, audio_format
        )
        self._options = options
        self._turn = turn
        self._byte_rate = audio_format.bytes_per_second
        self._open_sessions = open_sessions
        self._max_open = max_open
        self._sender = AudioSender(
            audio_format.frame_bytes(options.frame_duration),
            options.max_unacked_frames,
            options.ack_timeout,
        )
        self.transcript = Transcript()
        self.started: RecognitionStarted | None = None
        self._complete = False
        self._turn_end: EndOfTurn | None = None
        self._forced_end = False
        self._failure: SpeechmaticsError | None = None
        self._events: asyncio.Queue[RealtimeEvent | SpeechmaticsError] = asyncio.Queue()
        self._run_task: asyncio.Task[None] | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: list[asyncio.TimerHandle] = []

    @property
    def session_id(self) -> str | None:
        """Return Speechmatics' id of the session, once it has started."""
        return self.started.session_id if self.started else None

    @property
    def stats(self) -> SessionStats:
        """Return what went over the wire."""
        return self._sender.stats

    @property
    def failure(self) -> SpeechmaticsError | None:
        """Return the error that ended the session, if one did."""
        return self._failure

    @property
    def complete(self) -> bool:
        """Return whether the whole transcript arrived (EndOfTranscript)."""
        return self._complete

    async def transcribe(
        self, audio: AsyncIterable[bytes]
    ) -> AsyncGenerator[RealtimeEvent]:
        """Stream the audio as it arrives; yield the events up to EndOfTranscript.

        The audio's end sends EndOfStream; from then the transcript must end within the
        finish timeout. The audio iterator is closed when the session ends, and no more
        of it is read once the transcript is complete. Raises the error that ended the
        session: AudioSourceError when the audio itself raised. Closing the generator
        before the end stops the session; a complete session closes its socket in the
        background (close() waits for that).

        With a Turn the last event may be EndOfTurn instead: the audio is closed and
        no more of it is sent; the session finishes in the background, and failures
        from then on end only the session.
        """
        if self._run_task is not None:
            msg = "a session transcribes one stream"
            raise RuntimeError(msg)
        chunks = aiter(audio)
        if self._max_open is not None and len(self._open_sessions) >= self._max_open:
            await _aclose(chunks)
            msg = f"too many sessions at once: {self._max_open} are open already"
            raise TooManySessions(msg)
        self._open_sessions.add(self)
        self._run_task = asyncio.create_task(
            self._run(chunks), name="speechmatics session"
        )
        self._run_task.add_done_callback(lambda _: self._open_sessions.discard(self))
        try:
            while not isinstance(item := await self._events.get(), SpeechmaticsError):
                yield item
                if isinstance(item, EndOfTranscript | EndOfTurn):
                    return
            raise item
        finally:
            if not self._complete and self._turn_end is None:
                await self.close()

    def force_end_of_utterance(self) -> None:
        """Ask the server to finalise what it heard so far, after the audio read so far."""
        if self._run_task is None or self._run_task.done():
            msg = "the session is not running"
            raise RuntimeError(msg)
        self._sender.force_end_of_utterance()

    async def close(self) -> None:
        """Stop the session unless it is complete; wait until its socket is closed."""
        task = self._run_task
        if task is None or task.done():
            return
        if not self._complete:
            task.cancel()
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise

    async def _run(self, audio: AsyncIterator[bytes]) -> None:
        """Read the audio, connect, start recognition and stream until the transcript ends."""
        self._read_task = self._spawn(self._read(audio), "speechmatics read")
        try:
            async with connect(
                self._http, self._url, self._api_key, self._options
            ) as connection:
                try:
                    await connection.send_json(self._start_message)
                    await self._receive_until_started(connection)
                    self._spawn(self._sender.run(connection), "speechmatics send")
                    self._spawn(connection.heartbeat(), "speechmatics heartbeat")
                    while not self._complete:
                        self._handle(await connection.receive())
                finally:
                    # No more audio is read or sent once the session is over.
                    await self._stop_tasks()
        except SpeechmaticsError as err:
            self._fail(err)
        except asyncio.CancelledError:
            self._fail(SessionClosed("the session was closed before the end"))
            raise
        except Exception as err:
            # Whatever fails in here must end the session as a failure, never as a
            # transcript cut short.
            _LOGGER.debug(
                "Session %s failed unexpectedly", self.session_id, exc_info=True
            )
            self._fail(SpeechmaticsError(f"unexpected error: {_describe(err)}"))
        finally:
            for timer in self._timers:
                timer.cancel()
            await self._stop_tasks()
            # The read task closes the audio, unless it was cancelled before it ran.
            await _aclose(audio)

    async def _receive_until_started(self, connection: Connection) -> None:
        """Handle messages until RecognitionStarted, within the start timeout."""
        seconds = self._options.start_timeout
        try:
            async with asyncio.timeout(seconds):
                while self.started is None:
                    self._handle(await connection.receive())
        except TimeoutError as err:
            raise SessionTimeout(TimeoutStage.START, seconds) from err

    async def _read(self, audio: AsyncIterator[bytes]) -> None:
        """Hand the caller's audio to the sender as it arrives; then end the input.

        The audio is closed when the reading stops: at its end, with the session, or
        at the end of the turn.
        """
        try:
            async for chunk in audio:
                if chunk:
                    await self._sender.put(chunk)
                    self._check_max_length()
                    if self._forced_end or self._turn_end is not None:
                        return
        except Exception as err:
            msg = f"the audio source failed: {err!r}"
            raise AudioSourceError(msg) from err
        finally:
            await _aclose(audio)
        self._sender.end_input()
        self._arm_finish_timeout()

    def _check_max_length(self) -> None:
        """Force the end of the turn's utterance at max_length seconds of audio read.

        No more audio is read: the turn ends at the EndOfUtterance that answers.
        """
        if self._turn is None or self._byte_rate is None or self._forced_end:
            return
        if self._sender.stats.audio_bytes_in >= self._turn.max_length * self._byte_rate:
            self._forced_end = True
            self._sender.force_end_of_utterance()
            self._arm_finish_timeout()

    def _check_no_speech(self) -> None:
        """End the turn empty once the server has heard no_speech seconds and no word."""
        if self._turn is None or self._byte_rate is None or self.transcript.text:
            return
        if (
            self._sender.stats.audio_bytes_acked
            >= self._turn.no_speech * self._byte_rate
        ):
            self._end_turn(TurnEnd.NO_SPEECH)

    def _end_turn(self, reason: TurnEnd) -> None:
        """End the turn with the final text so far; finish the session in the background.

        Nothing more is read or sent but EndOfStream, and the transcript stays as it is.
        """
        if self._turn_end is not None or self._complete or self._failure is not None:
            return
        self._turn_end = EndOfTurn(self.transcript.final_text, reason)
        self._events.put_nowait(self._turn_end)
        self._sender.end_now()
        if self._read_task is not asyncio.current_task() and self._read_task:
            self._read_task.cancel()
        self._arm_finish_timeout()

    def _arm_finish_timeout(self) -> None:
        """Fail the session unless its transcript ends within the finish timeout."""
        self._call_later(self._options.finish_timeout, self._finish_timed_out)

    def _finish_timed_out(self) -> None:
        """Fail the session: the transcript did not end in time after the audio."""
        stage = TimeoutStage.FINISH if self.started else TimeoutStage.START
        self._fail(SessionTimeout(stage, self._options.finish_timeout))

    def _call_later(
        self, delay: float, callback: Callable[..., None], *args: Any
    ) -> None:
        """Run a callback later, unless the session has ended by then."""
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(delay, callback, *args))

    def _spawn(self, work: Any, name: str) -> asyncio.Task[None]:
        """Run a part of the session in a task of its own; its failure ends the session."""
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """End the session when one of its tasks failed."""
        if task.cancelled() or (err := task.exception()) is None:
            return
        if isinstance(err, ConnectionClosed):
            # A failed send means the server is closing: the receive is about to learn
            # why (an Error message or a close code), and that is the failure to keep.
            self._call_later(ERROR_CLOSE_WAIT, self._fail, err)
        elif isinstance(err, SpeechmaticsError):
            self._fail(err)
        else:
            self._fail(SpeechmaticsError(f"unexpected error: {_describe(err)}"))

    async def _stop_tasks(self) -> None:
        """Cancel the session's tasks and wait for them."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def _fail(self, error: SpeechmaticsError) -> None:
        """Record the first error that ends the session, hand it on and stop the session."""
        if self._complete:
            return
        if self._failure is None:
            self._failure = error
            _LOGGER.debug("Session %s failed: %s", self.session_id, error)
            self._events.put_nowait(error)
        task = self._run_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    def _handle(self, message: dict[str, Any]) -> None:
        """Act on one server message and hand on its event."""
        name = message["message"]
        if name == ServerMessageType.AUDIO_ADDED:
            self._sender.acknowledge(messages.parse_seq_no(message))
            self._check_no_speech()
            return
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("Received %s", str(message)[:500])
        if (handler := self._HANDLERS.get(name)) is None:
            _LOGGER.debug("Ignoring unknown message %s", name)
            return
        if self._turn_end is not None and name in _TRANSCRIPTS:
            return  # the turn's transcript is final
        self._events.put_nowait(event := handler(self, message))
        if (
            isinstance(event, EndOfUtterance)
            and self._turn is not None
            and (self._forced_end or self.transcript.final_text)
        ):
            # An utterance without words (noise, a cough) does not end the turn.
            reason = (
                TurnEnd.MAX_LENGTH if self._forced_end else TurnEnd.END_OF_UTTERANCE
            )
            self._end_turn(reason)

    def _on_recognition_started(self, message: dict[str, Any]) -> RealtimeEvent:
        """Take the session id and word delimiter; let audio flow."""
        if self.started is not None:
            # It would change the word delimiter of a transcript half made.
            msg = "the server sent RecognitionStarted twice"
            raise InvalidMessage(msg)
        self.started = messages.parse_recognition_started(message)
        self.transcript.word_delimiter = self.started.word_delimiter
        return self.started

    def _on_partial(self, message: dict[str, Any]) -> RealtimeEvent:
        """Replace the partial tail of the transcript."""
        results = messages.parse_results(message)
        self.transcript.set_partial(results)
        text = render(results, self.transcript.word_delimiter)
        start, end = messages.parse_times(message)
        return PartialTranscript(text, results, start, end, self.transcript.text)

    def _on_final(self, message: dict[str, Any]) -> RealtimeEvent:
        """Append a final segment to the transcript."""
        results = messages.parse_results(message)
        self.transcript.add_final(results)
        text = render(results, self.transcript.word_delimiter)
        start, end = messages.parse_times(message)
        return FinalTranscript(text, results, start, end, self.transcript.text)

    def _on_end_of_utterance(self, message: dict[str, Any]) -> RealtimeEvent:
        """Report that the speaker paused."""
        return EndOfUtterance(*messages.parse_times(message))

    def _on_end_of_transcript(self, _message: dict[str, Any]) -> RealtimeEvent:
        """Complete the session."""
        self._complete = True
        return EndOfTranscript(self.transcript.final_text)

    def _on_info(self, message: dict[str, Any]) -> RealtimeEvent:
        """Report an Info message."""
        return ServerInfo(*messages.notice_fields(message))

    def _on_warning(self, message: dict[str, Any]) -> RealtimeEvent:
        """Act on a Warning: past the duration limit the server takes no more audio."""
        warning = ServerWarning(*messages.notice_fields(message))
        _LOGGER.debug("Warning from the server: %s: %s", warning.type, warning.reason)
        if warning.type == _DURATION_LIMIT_EXCEEDED:
            # The server ends the transcript as at EndOfStream.
            self._sender.stop()
            self._arm_finish_timeout()
        return warning

    _HANDLERS: Final[
        dict[str, Callable[[RealtimeSession, dict[str, Any]], RealtimeEvent]]
    ] = {
        ServerMessageType.RECOGNITION_STARTED: _on_recognition_started,
        ServerMessageType.ADD_PARTIAL_TRANSCRIPT: _on_partial,
        ServerMessageType.ADD_TRANSCRIPT: _on_final,
        ServerMessageType.END_OF_UTTERANCE: _on_end_of_utterance,
        ServerMessageType.END_OF_TRANSCRIPT: _on_end_of_transcript,
        ServerMessageType.INFO: _on_info,
        ServerMessageType.WARNING: _on_warning,
    }


async def _aclose(audio: AsyncIterator[bytes]) -> None:
    """Close an audio iterator that can be closed."""
    if isinstance(audio, AsyncGenerator):
        await audio.aclose()


def _describe(err: BaseException) -> str:
    """Return an exception's type and message."""
    return f"{type(err).__name__}: {err}"
