"""The Speechmatics speech-to-text entity: streams while the user speaks."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import aclosing
import logging
from typing import override

from homeassistant.components.stt import (
    AudioBitRates,
    AudioChannels,
    AudioCodecs,
    AudioFormats,
    AudioSampleRates,
    SpeechAudioProcessing,
    SpeechMetadata,
    SpeechResult,
    SpeechResultState,
    SpeechToTextEntity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .audio import UnsupportedAudioError, async_open_audio
from .const import DOMAIN, EVENT_TRANSCRIPT, LANGUAGES
from .data import SpeechmaticsConfigEntry
from .options import speechmatics_ends_speech, transcription_config
from .realtime import (
    EndOfTurn,
    FinalTranscript,
    PartialTranscript,
    RealtimeSession,
    SpeechmaticsError,
    Turn,
)

try:
    from homeassistant.components.stt import PartialSpeechResult
except ImportError:  # Home Assistant < 2026.11 has no partial results
    PartialSpeechResult = None  # type: ignore[assignment,misc]  # mypy checks 2026.11

_LOGGER = logging.getLogger(__name__)

_ERROR = SpeechResult(None, SpeechResultState.ERROR)


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

    @property
    @override
    def audio_processing(self) -> SpeechAudioProcessing:
        """Return whether Home Assistant's voice detection must end the audio stream.

        Not when Speechmatics decides the end of speech (the end_of_speech option):
        the pipeline then streams until the entity returns.
        """
        return SpeechAudioProcessing(
            requires_external_vad=not speechmatics_ends_speech(self._entry.options),
            prefers_auto_gain_enabled=True,
            prefers_noise_reduction_enabled=True,
        )

    @override
    async def async_process_audio_stream(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> SpeechResult:
        """Transcribe an audio stream; return the final transcript."""
        async with aclosing(self._async_transcribe(metadata, stream)) as results:
            async for result in results:
                if isinstance(result, SpeechResult):
                    return result
        return _ERROR  # pragma: no cover  # _async_transcribe ends with a result

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
        """Stream the audio to one Realtime session; yield each new text so far, then the result.

        The result comes at the end of the audio, or, when Speechmatics decides the
        end of speech, at the end of the user's turn: the session then finishes in
        the background. Every failure ends in SpeechResult(None, ERROR) and a log
        line: nothing raises into the pipeline.
        """
        data = self._entry.runtime_data
        options = self._entry.options
        config = transcription_config(
            options, LANGUAGES[metadata.language], data.vocabulary.names
        )
        turn = Turn() if speechmatics_ends_speech(options) else None
        try:
            if (opened := await async_open_audio(metadata, stream)) is None:
                _LOGGER.debug("The audio stream ended without audio")
                yield SpeechResult("", SpeechResultState.SUCCESS)
                return
            audio_format, audio = opened
            session = data.client.session(config, audio_format, turn=turn)
            data.sessions += 1
            text = ""
            async with aclosing(session.transcribe(audio)) as events:
                async for event in events:
                    if (
                        isinstance(event, PartialTranscript | FinalTranscript)
                        and event.text_so_far != text
                    ):
                        text = event.text_so_far
                        self._fire(session, text, is_final=False)
                        yield text
                    elif isinstance(event, EndOfTurn):
                        _LOGGER.debug("End of the turn: %s", event.reason)
        except UnsupportedAudioError as err:
            _LOGGER.error("Cannot transcribe this audio: %s", err)
            yield _ERROR
            return
        except SpeechmaticsError as err:
            data.health.record_failure(err)
            yield _ERROR
            return
        data.health.record_success()
        final = session.transcript.final_text
        self._fire(session, final, is_final=True)
        yield SpeechResult(final, SpeechResultState.SUCCESS)

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
