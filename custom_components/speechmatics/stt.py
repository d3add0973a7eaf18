"""The Speechmatics speech-to-text entity: streams while the user speaks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from contextlib import aclosing
import logging
from typing import override

from homeassistant.components.stt import (
    AudioBitRates,
    AudioChannels,
    AudioCodecs,
    AudioFormats,
    AudioSampleRates,
    SpeechMetadata,
    SpeechResult,
    SpeechResultState,
    SpeechToTextEntity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .audio import UnsupportedAudioError, async_read_start
from .const import DOMAIN, EVENT_TRANSCRIPT, LANGUAGES
from .data import SpeechmaticsConfigEntry, transcription_config
from .realtime import (
    AudioFormat,
    FinalTranscript,
    PartialTranscript,
    RealtimeEvent,
    RealtimeSession,
    SessionClosed,
    SpeechmaticsError,
)

try:
    from homeassistant.components.stt import PartialSpeechResult
except ImportError:  # Home Assistant < 2026.11 has no partial results
    PartialSpeechResult = None  # type: ignore[assignment,misc]  # mypy checks 2026.11

_LOGGER = logging.getLogger(__name__)

_ERROR = SpeechResult(None, SpeechResultState.ERROR)


class _TextSoFar:
    """The transcript so far, as partial and final segments change it."""

    def __init__(self) -> None:
        """Start with no text."""
        self.text = ""

    def update(self, event: RealtimeEvent) -> bool:
        """Take an event; return whether the text so far changed."""
        if (
            isinstance(event, PartialTranscript | FinalTranscript)
            and event.text_so_far != self.text
        ):
            self.text = event.text_so_far
            return True
        return False


class AudioStreamError(Exception):
    """Home Assistant's audio stream failed while the session was running."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SpeechmaticsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the speech-to-text entity of a config entry."""
    async_add_entities([SpeechmaticsSpeechToText(entry)])


class SpeechmaticsSpeechToText(SpeechToTextEntity):
    """Speech-to-text with the Speechmatics Realtime API."""

    _attr_has_entity_name = True
    _attr_translation_key = "speech_to_text"

    def __init__(self, entry: SpeechmaticsConfigEntry) -> None:
        """Describe the entity of one config entry."""
        self._entry = entry
        self._attr_unique_id = entry.entry_id
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Speechmatics",
            model="Realtime API",
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    @override
    def supported_languages(self) -> list[str]:
        """Return every language Speechmatics Realtime offers, as HA tags and codes."""
        return list(LANGUAGES)

    @property
    @override
    def supported_formats(self) -> list[AudioFormats]:
        """Return WAV (raw PCM or with a header) and OGG."""
        return [AudioFormats.WAV, AudioFormats.OGG]

    @property
    @override
    def supported_codecs(self) -> list[AudioCodecs]:
        """Return PCM and Opus."""
        return [AudioCodecs.PCM, AudioCodecs.OPUS]

    @property
    @override
    def supported_bit_rates(self) -> list[AudioBitRates]:
        """Return 16-bit samples."""
        return [AudioBitRates.BITRATE_16]

    @property
    @override
    def supported_sample_rates(self) -> list[AudioSampleRates]:
        """Return every sample rate Home Assistant defines."""
        return list(AudioSampleRates)

    @property
    @override
    def supported_channels(self) -> list[AudioChannels]:
        """Return mono."""
        return [AudioChannels.CHANNEL_MONO]

    @override
    async def async_process_audio_stream(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> SpeechResult:
        """Transcribe an audio stream; return the final transcript."""
        async with aclosing(self._async_transcribe(metadata, stream)) as results:
            async for result in results:
                if isinstance(result, SpeechResult):
                    return result
        return _ERROR

    async def async_process_audio_stream_with_progress(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> AsyncGenerator[PartialSpeechResult | SpeechResult]:
        """Transcribe an audio stream; yield the text so far, then the final result."""
        async with aclosing(self._async_transcribe(metadata, stream)) as results:
            async for result in results:
                if isinstance(result, SpeechResult):
                    yield result
                    return
                if PartialSpeechResult is not None:
                    yield PartialSpeechResult(result)

    async def _async_transcribe(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> AsyncGenerator[str | SpeechResult]:
        """Stream audio to one Realtime session; yield each new text so far, then the result.

        Every failure ends in SpeechResult(None, ERROR) and a log line: nothing raises
        into the pipeline.
        """
        chunks = aiter(stream)
        try:
            try:
                start = await async_read_start(metadata, chunks)
            except UnsupportedAudioError as err:
                _LOGGER.error("Cannot transcribe this audio: %s", err)
                yield _ERROR
                return
            except Exception as err:  # noqa: BLE001  # the stream is Home Assistant's
                _LOGGER.error("The audio stream failed: %r", err)
                yield _ERROR
                return
            if start is None:
                _LOGGER.debug("The audio stream ended without audio")
                yield SpeechResult("", SpeechResultState.SUCCESS)
                return
            async with aclosing(
                self._async_session(metadata, *start, chunks)
            ) as results:
                async for result in results:
                    yield result
        finally:
            if isinstance(chunks, AsyncGenerator):
                await chunks.aclose()

    async def _async_session(
        self,
        metadata: SpeechMetadata,
        audio_format: AudioFormat,
        head: bytes,
        chunks: AsyncIterator[bytes],
    ) -> AsyncGenerator[str | SpeechResult]:
        """Run one Realtime session over the audio."""
        data = self._entry.runtime_data
        config = transcription_config(self._entry.options, LANGUAGES[metadata.language])
        data.sessions += 1
        fired = _TextSoFar()

        def publish(event: RealtimeEvent) -> None:
            """Fire the transcript event the moment the text so far changes."""
            if fired.update(event):
                self._fire(session, fired.text, is_final=False)

        session = data.client.session(config, audio_format, on_event=publish)
        session.start()
        data.active_sessions.add(session)
        try:
            async with aclosing(self._async_stream(session, head, chunks)) as texts:
                async for text in texts:
                    yield text
        except SessionClosed as err:
            _LOGGER.info("Speech-to-text was stopped: %s", err)
            yield _ERROR
            return
        except SpeechmaticsError as err:
            data.health.record_failure(err)
            yield _ERROR
            return
        except AudioStreamError as err:
            _LOGGER.error("The audio stream failed: %r", err.__cause__)
            yield _ERROR
            return
        finally:
            data.active_sessions.discard(session)
            if session.complete:
                # The transcript is in: close the socket once the result is handed over.
                self.hass.loop.call_soon(self._close_in_background, session)
            else:
                await session.close()
        data.health.record_success()
        final = session.transcript.final_text
        self._fire(session, final, is_final=True)
        yield SpeechResult(final, SpeechResultState.SUCCESS)

    async def _async_stream(
        self, session: RealtimeSession, head: bytes, chunks: AsyncIterator[bytes]
    ) -> AsyncGenerator[str]:
        """Upload audio while yielding the text so far, until the transcript ends."""
        stream_failures: list[Exception] = []
        upload = asyncio.create_task(
            self._async_upload(session, head, chunks, stream_failures),
            name="speechmatics upload",
        )
        try:
            yielded = _TextSoFar()
            try:
                async with aclosing(session.events()) as events:
                    async for event in events:
                        if yielded.update(event):
                            yield yielded.text
            except SpeechmaticsError:
                if stream_failures:
                    raise AudioStreamError from stream_failures[0]
                raise
            await upload
        finally:
            # Done in the usual case: gathering it would cost two turns of the loop.
            if not upload.done():
                upload.cancel()
                await asyncio.wait({upload})
            if not upload.cancelled():
                upload.exception()  # seen: the session's error is the one raised

    async def _async_upload(
        self,
        session: RealtimeSession,
        head: bytes,
        chunks: AsyncIterator[bytes],
        stream_failures: list[Exception],
    ) -> None:
        """Send Home Assistant's audio as it arrives, then end the session's audio."""
        try:
            await session.send_audio(head)
            async for chunk in chunks:
                await session.send_audio(chunk)
        except SpeechmaticsError:
            raise
        except Exception as err:  # noqa: BLE001  # any failure of the stream ends the run
            # Without its audio the session cannot end: stop it, which ends the events.
            stream_failures.append(err)
            await session.close()
            return
        # The transcript is not waited for here: events() brings it, or the failure.
        await session.end_audio()

    def _close_in_background(self, session: RealtimeSession) -> None:
        """Close a complete session's socket in a task of the entry's lifetime."""
        self._entry.async_create_background_task(
            self.hass, session.close(), "speechmatics close"
        )

    def _fire(self, session: RealtimeSession, text: str, *, is_final: bool) -> None:
        """Fire the transcript event on the bus."""
        self.hass.bus.async_fire(
            EVENT_TRANSCRIPT,
            {
                "entity_id": self.entity_id,
                "session_id": session.session_id,
                "text": text,
                "is_final": is_final,
            },
        )
