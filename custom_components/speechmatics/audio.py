"""Tell what audio Home Assistant hands over, and strip WAV headers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass
import struct

from homeassistant.components.stt import AudioCodecs, AudioFormats, SpeechMetadata

from .realtime import AudioFormat, AudioSourceError

_MAX_WAV_HEADER = 65536
_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_RIFF_ID = b"RIFF"


class UnsupportedAudioError(ValueError):
    """The audio is not in a form this integration can send to Speechmatics."""


@dataclass(frozen=True, slots=True)
class WavHeader:
    """What a WAV header says, and where the samples start."""

    sample_rate: int
    channels: int
    bits_per_sample: int
    data_offset: int


def parse_wav_header(data: bytes) -> WavHeader | None:
    """Parse a RIFF/WAVE header; None while more bytes are needed."""
    if len(data) < 12:
        return None
    if data[:4] != _RIFF_ID or data[8:12] != b"WAVE":
        msg = "the audio starts with RIFF but is not a WAVE file"
        raise UnsupportedAudioError(msg)
    offset = 12
    fmt: tuple[int, int, int, int] | None = None
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        if chunk_id == b"data":
            if fmt is None:
                msg = "the WAV file has no fmt chunk before its data"
                raise UnsupportedAudioError(msg)
            return _checked(fmt, offset + 8)
        if chunk_id == b"fmt ":
            if offset + 24 > len(data):
                return None
            audio_format, channels, rate, _, _, bits = struct.unpack_from(
                "<HHIIHH", data, offset + 8
            )
            fmt = (audio_format, channels, rate, bits)
        offset += 8 + size + (size & 1)
    if len(data) > _MAX_WAV_HEADER:
        msg = "the WAV header is too long"
        raise UnsupportedAudioError(msg)
    return None


def _checked(fmt: tuple[int, int, int, int], data_offset: int) -> WavHeader:
    """Return the header if it describes 16-bit mono PCM."""
    audio_format, channels, rate, bits = fmt
    if audio_format not in (_WAVE_FORMAT_PCM, _WAVE_FORMAT_EXTENSIBLE) or bits != 16:
        msg = f"only 16-bit PCM WAV is supported (format {audio_format}, {bits} bits)"
        raise UnsupportedAudioError(msg)
    if channels != 1:
        msg = f"only mono audio is supported ({channels} channels)"
        raise UnsupportedAudioError(msg)
    return WavHeader(rate, channels, bits, data_offset)


async def async_open_audio(
    metadata: SpeechMetadata, stream: AsyncIterable[bytes]
) -> tuple[AudioFormat, AsyncGenerator[bytes]] | None:
    """Read the start of the stream; return its format and its audio from the first sample.

    None when the stream ends without audio. A WAV header (the HTTP STT API sends one)
    is parsed and stripped; OGG/Opus is sent as a file for Speechmatics to decode.
    Closing the returned audio closes the stream; without audio, or when reading fails
    (UnsupportedAudioError, AudioSourceError), it is closed here.
    """
    chunks = aiter(stream)
    try:
        start = await _read_start(metadata, chunks)
    except UnsupportedAudioError:
        await _aclose(chunks)
        raise
    except Exception as err:
        await _aclose(chunks)
        msg = f"the audio stream failed: {err!r}"
        raise AudioSourceError(msg) from err
    if start is None:
        await _aclose(chunks)
        return None
    audio_format, head = start
    return audio_format, _audio(head, chunks)


async def _audio(head: bytes, chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes]:
    """Yield the samples read so far, then the rest of the stream; close it at the end."""
    try:
        yield head
        async for chunk in chunks:
            yield chunk
    finally:
        await _aclose(chunks)


async def _aclose(chunks: AsyncIterator[bytes]) -> None:
    """Close a stream that can be closed."""
    if isinstance(chunks, AsyncGenerator):
        await chunks.aclose()


async def _read_start(
    metadata: SpeechMetadata, chunks: AsyncIterator[bytes]
) -> tuple[AudioFormat, bytes] | None:
    """Read until the format is known; return it and the samples read so far."""
    if metadata.format is AudioFormats.OGG or metadata.codec is AudioCodecs.OPUS:
        async for chunk in chunks:
            if chunk:
                return AudioFormat.file(), chunk
        return None
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) < len(_RIFF_ID):
            continue
        if not head.startswith(_RIFF_ID):
            return AudioFormat(sample_rate=int(metadata.sample_rate)), head
        if (header := parse_wav_header(head)) is not None:
            return AudioFormat(sample_rate=header.sample_rate), head[
                header.data_offset :
            ]
    if head.startswith(_RIFF_ID):
        msg = "the WAV file ended inside its header"
        raise UnsupportedAudioError(msg)
    return (AudioFormat(sample_rate=int(metadata.sample_rate)), head) if head else None
