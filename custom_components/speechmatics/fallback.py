"""A second speech-to-text engine for a command Speechmatics could not finish.

The run's audio is held from its first byte while Speechmatics transcribes it; when the
run fails, the fallback entity gets what was held, then the rest of Home Assistant's
stream, through the stt component's entity API, as the pipeline would call it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Callable

from homeassistant.components.assist_pipeline.audio_enhancer import (
    MicroVadSpeexEnhancer,
)
from homeassistant.components.assist_pipeline.const import BYTES_PER_CHUNK
from homeassistant.components.assist_pipeline.vad import (
    AudioBuffer,
    VoiceCommandSegmenter,
    chunk_samples,
)
from homeassistant.components.stt import (
    AudioBitRates,
    AudioChannels,
    AudioCodecs,
    AudioFormats,
    AudioSampleRates,
    SpeechMetadata,
    SpeechResult,
    SpeechToTextEntity,
)

# About 30 s of Home Assistant's 16 kHz 16-bit mono audio: twice its longest command.
HELD_AUDIO_LIMIT = 30 * 32000
_CHUNK_SECONDS = BYTES_PER_CHUNK / 32000


class HeldAudio:
    """Home Assistant's audio stream, with what was read of it held for a fallback.

    `read()` is the stream as the session reads it. A read cut off by the end of the
    session (its task cancelled) leaves the stream as it was: `replay()` yields what
    was read, then the rest of the stream. Past the limit nothing is held.
    """

    def __init__(
        self, stream: AsyncIterable[bytes], limit: int = HELD_AUDIO_LIMIT
    ) -> None:
        """Hold nothing yet."""
        self._source = aiter(stream)
        self._limit = limit
        self._held: list[bytes] = []
        self._held_bytes = 0
        self.overflowed = False
        self._next: asyncio.Future[bytes | None] | None = None
        self._ended = False

    async def _read(self) -> bytes | None:
        """Return the stream's next chunk, None at its end.

        The read runs in a task of its own: a caller cancelled while it waits leaves
        it to the next caller, so no chunk is lost.
        """
        if self._ended:
            return None
        if self._next is None:
            self._next = asyncio.ensure_future(anext(self._source, None))
        try:
            chunk = await asyncio.shield(self._next)
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._next = None
            self._ended = True
            raise
        self._next = None
        if chunk is None:
            self._ended = True
        return chunk

    async def read(self) -> AsyncGenerator[bytes]:
        """Yield the stream, holding what is read up to the limit."""
        while (chunk := await self._read()) is not None:
            if not self.overflowed:
                self._held_bytes += len(chunk)
                self._held.append(chunk)
                if self._held_bytes > self._limit:
                    self.overflowed = True
                    self._held.clear()
            yield chunk

    async def replay(self) -> AsyncGenerator[bytes]:
        """Yield the audio held, then the rest of the stream."""
        held, self._held = self._held, []
        for piece in held:
            yield piece
        while (chunk := await self._read()) is not None:
            yield chunk

    async def aclose(self) -> None:
        """Stop a read in progress and close the stream."""
        self._ended = True
        if (pending := self._next) is not None:
            pending.cancel()
            await asyncio.wait({pending})
            if not pending.cancelled():
                pending.exception()  # retrieved: the run is over
        if isinstance(self._source, AsyncGenerator):
            await self._source.aclose()


def is_pipeline_audio(metadata: SpeechMetadata) -> bool:
    """Return whether the audio is the pipeline's: raw 16 kHz 16-bit mono PCM."""
    return (
        metadata.format is AudioFormats.WAV
        and metadata.codec is AudioCodecs.PCM
        and metadata.sample_rate is AudioSampleRates.SAMPLERATE_16000
        and metadata.bit_rate is AudioBitRates.BITRATE_16
        and metadata.channel is AudioChannels.CHANNEL_MONO
    )


async def until_speech_ends(
    audio: AsyncIterable[bytes], longest: float
) -> AsyncGenerator[bytes]:
    """Yield pipeline audio until Home Assistant's voice command detection ends it.

    For a fallback when Speechmatics was deciding the end of speech: the pipeline then
    runs no detection of its own, and its stream would not end. At most `longest`
    seconds of audio, as Home Assistant's own detection.
    """
    enhancer = MicroVadSpeexEnhancer(0, 0, is_vad_enabled=True)
    segmenter = VoiceCommandSegmenter(timeout_seconds=longest)
    leftover = AudioBuffer(BYTES_PER_CHUNK)
    async for chunk in audio:
        yield chunk
        for piece in chunk_samples(chunk, BYTES_PER_CHUNK, leftover):
            probability = enhancer.enhance_chunk(piece, 0).speech_probability
            if not segmenter.process(_CHUNK_SECONDS, probability):
                return


async def async_transcribe(
    entity: SpeechToTextEntity,
    metadata: SpeechMetadata,
    audio: AsyncIterable[bytes],
    finish_timeout: float,
    longest_wait: float,
) -> SpeechResult:
    """Return the fallback's result for the audio, within the end-of-speech budget.

    It has finish_timeout from the end of its audio, and longest_wait in all; past
    them TimeoutError.
    """
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(longest_wait) as budget:
        deadline = loop.time() + longest_wait

        def ended() -> None:
            budget.reschedule(min(deadline, loop.time() + finish_timeout))

        return await entity.internal_async_process_audio_stream(
            metadata, _then(audio, ended)
        )


async def _then(
    audio: AsyncIterable[bytes], ended: Callable[[], None]
) -> AsyncGenerator[bytes]:
    """Yield the audio; call ended at its end."""
    async for chunk in audio:
        yield chunk
    ended()
