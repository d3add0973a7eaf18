"""What each session used: measured while it runs, added up by the usage sensors."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass
import time

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import DOMAIN
from .realtime import AudioFormat, FinalTranscript


def signal_session_ended(entry_id: str) -> str:
    """Return the dispatcher signal of an entry's ended sessions."""
    return f"{DOMAIN}_session_ended_{entry_id}"


@dataclass(frozen=True, slots=True)
class SessionUsage:
    """One ended session: the audio Speechmatics received, and how it ended."""

    audio_seconds: float
    failed: bool
    # From the end of the last word heard to the returned result; None without one.
    response_seconds: float | None = None


class SessionMeter:
    """Measures one session: when its audio was read, its last word, its answer.

    Audio arrives as it is spoken, so the moment the audio up to a word's end was read
    is the moment the user finished saying it. A container file's audio has no byte
    rate: its duration and response time are not known.
    """

    def __init__(self, audio_format: AudioFormat) -> None:
        """Note nothing yet."""
        self._bytes_per_second = audio_format.bytes_per_second
        self._read_ends: list[int] = []
        self._read_times: list[float] = []
        self._last_word_end: float | None = None
        self._answered_at: float | None = None

    async def timed(self, audio: AsyncIterable[bytes]) -> AsyncGenerator[bytes]:
        """Yield the audio, noting when each chunk was read."""
        read = 0
        async for chunk in audio:
            read += len(chunk)
            self._read_ends.append(read)
            self._read_times.append(time.monotonic())
            yield chunk

    def heard(self, final: FinalTranscript) -> None:
        """Take a final: its last word may be the user's last."""
        if final.results:
            self._last_word_end = final.end_time

    def answered(self) -> None:
        """Note that the result is ready."""
        self._answered_at = time.monotonic()

    def usage(self, audio_bytes: int, *, failed: bool) -> SessionUsage:
        """Return what the session used, once it has ended."""
        if self._bytes_per_second is None:
            return SessionUsage(0.0, failed)
        response = None
        if self._answered_at is not None and self._last_word_end is not None:
            position = self._last_word_end * self._bytes_per_second
            index = bisect_left(self._read_ends, position)
            if index < len(self._read_times):
                response = max(0.0, self._answered_at - self._read_times[index])
        return SessionUsage(audio_bytes / self._bytes_per_second, failed, response)


@callback
def async_session_ended(
    hass: HomeAssistant, entry_id: str, usage: SessionUsage
) -> None:
    """Tell the entry's usage sensors that a session ended."""
    async_dispatcher_send(hass, signal_session_ended(entry_id), usage)
