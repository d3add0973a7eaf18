"""The Speechmatics speech-to-text entity: streams while the user speaks."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable
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
    async_get_speech_to_text_entity,
)
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .audio import UnsupportedAudioError, async_open_audio
from .const import ENGINE_FALLBACK, ENGINE_SPEECHMATICS, EVENT_TRANSCRIPT, LANGUAGES
from .data import SpeechmaticsConfigEntry
from .entity import service_device
from .fallback import (
    HELD_AUDIO_LIMIT,
    HeldAudio,
    async_transcribe as fallback_transcribe,
    is_pipeline_audio,
    until_speech_ends,
)
from .options import EntryOptions, transcription_config
from .realtime import (
    AudioSourceError,
    EndOfTurn,
    FinalTranscript,
    PartialTranscript,
    RealtimeSession,
    SessionClosed,
    SpeechmaticsError,
    Turn,
)
from .usage import SessionMeter, async_session_ended

try:
    from homeassistant.components.stt import PartialSpeechResult
except ImportError:  # Home Assistant < 2026.11 has no partial results
    PartialSpeechResult = None  # type: ignore[assignment,misc]  # mypy checks 2026.11

_LOGGER = logging.getLogger(__name__)

# Runs are independent sessions; the client bounds how many are open at once.
PARALLEL_UPDATES = 0

_ERROR = SpeechResult(None, SpeechResultState.ERROR)
# Seconds between two partial transcript events at most; the final is never held back.
PARTIAL_EVENT_INTERVAL = 0.1


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
        self._fallback_problem: tuple[str, str] | None = None
        self._attr_unique_id = entry.entry_id
        self._attr_device_info = service_device(entry)

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
            requires_external_vad=not self._entry.runtime_data.options(
                self._entry
            ).speechmatics_ends_speech,
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
        the background. A run that fails is answered by the fallback engine, if the
        options name one. Every failure ends in SpeechResult(None, ERROR) and a log
        line: nothing raises into the pipeline.
        """
        data = self._entry.runtime_data
        options = data.options(self._entry)
        config = transcription_config(
            options, LANGUAGES[metadata.language], data.vocabulary.names
        )
        turn = Turn() if options.speechmatics_ends_speech else None
        held = HeldAudio(stream) if options.fallback_stt else None
        session: RealtimeSession | None = None
        meter: SessionMeter | None = None
        failed = False
        partial_events = _PartialEvents(
            self.hass, lambda text: self._fire(session, text, is_final=False)
        )
        try:
            opened = await async_open_audio(metadata, held.read() if held else stream)
            if opened is None:
                _LOGGER.debug("The audio stream ended without audio")
                yield SpeechResult("", SpeechResultState.SUCCESS)
                return
            audio_format, audio = opened
            meter = SessionMeter(audio_format)
            session = data.client.session(config, audio_format, turn=turn)
            data.sessions += 1
            async with aclosing(_texts(session, meter, audio)) as texts:
                async for text in texts:
                    partial_events.update(text)
                    yield text
        except UnsupportedAudioError as err:
            _LOGGER.error("Cannot transcribe this audio: %s", err)
            yield _ERROR
            return
        except SpeechmaticsError as err:
            failed = not isinstance(err, SessionClosed)
            partial_events.stop(deliver=True)  # a failed run's last text too
            data.health.record_failure(err)
            if (
                held is None
                or options.fallback_stt is None
                or isinstance(err, SessionClosed | AudioSourceError)
            ):
                yield _ERROR
            else:
                yield await self._async_fallback(
                    options.fallback_stt, metadata, held, options, session
                )
            return
        finally:
            partial_events.stop()
            if held is not None:
                await held.aclose()
            if session is not None and meter is not None:
                # A failed session: the audio the service confirmed it read; one that
                # ended well: all the audio sent (the last acknowledgements may
                # still be on their way when Speechmatics ends the turn).
                stats = session.stats
                used = stats.audio_bytes_acked if failed else stats.audio_bytes_sent
                async_session_ended(
                    self.hass,
                    self._entry.entry_id,
                    meter.usage(used, failed=failed),
                )
        data.health.record_success()
        final = session.transcript.final_text
        self._fire(session, final, is_final=True)
        yield SpeechResult(final, SpeechResultState.SUCCESS)

    async def _async_fallback(
        self,
        fallback_id: str,
        metadata: SpeechMetadata,
        held: HeldAudio,
        options: EntryOptions,
        session: RealtimeSession | None,
    ) -> SpeechResult:
        """Return the fallback engine's result for the whole audio of the run."""
        if held.overflowed:
            _LOGGER.warning(
                "No fallback: the audio was longer than the %d s held for one",
                HELD_AUDIO_LIMIT // 32000,
            )
            return _ERROR
        if (fallback := self._fallback_entity(fallback_id, metadata)) is None:
            return _ERROR
        audio: AsyncIterable[bytes] = held.replay()
        if options.speechmatics_ends_speech and is_pipeline_audio(metadata):
            audio = until_speech_ends(audio, Turn().max_length)
        client_options = self._entry.runtime_data.client.options
        try:
            result = await fallback_transcribe(
                fallback,
                metadata,
                audio,
                client_options.finish_timeout,
                HELD_AUDIO_LIMIT // 32000 + client_options.finish_timeout,
            )
        except TimeoutError:
            _LOGGER.error("The fallback %s did not answer in time", fallback_id)
            return _ERROR
        except Exception:
            _LOGGER.exception("The fallback %s failed", fallback_id)
            return _ERROR
        if result.result is not SpeechResultState.SUCCESS:
            _LOGGER.error("The fallback %s failed too", fallback_id)
            return _ERROR
        _LOGGER.info("The fallback %s answered", fallback_id)
        self._fire(session, result.text or "", is_final=True, engine=ENGINE_FALLBACK)
        return result

    def _fallback_entity(
        self, entity_id: str, metadata: SpeechMetadata
    ) -> SpeechToTextEntity | None:
        """Return the fallback entity if it can take the audio; log once when it cannot."""
        entity = async_get_speech_to_text_entity(self.hass, entity_id)
        state = self.hass.states.get(entity_id)
        if entity is self:
            problem = "is this entity itself"
        elif entity is None or state is None:
            problem = "does not exist"
        elif state.state == STATE_UNAVAILABLE:
            problem = "is unavailable"
        elif not entity.check_metadata(metadata):
            problem = f"cannot take this audio ({metadata.language})"
        else:
            self._fallback_problem = None
            return entity
        if self._fallback_problem != (entity_id, problem):
            self._fallback_problem = (entity_id, problem)
            _LOGGER.warning("The fallback %s %s: it is skipped", entity_id, problem)
        return None

    def _fire(
        self,
        session: RealtimeSession | None,
        text: str,
        *,
        is_final: bool,
        engine: str = ENGINE_SPEECHMATICS,
    ) -> None:
        """Fire the transcript event on the bus."""
        self.hass.bus.async_fire(
            EVENT_TRANSCRIPT,
            {
                "entity_id": self.entity_id,
                "session_id": session.session_id if session else None,
                "text": text,
                "is_final": is_final,
                "engine": engine,
            },
        )


async def _texts(
    session: RealtimeSession, meter: SessionMeter, audio: AsyncIterable[bytes]
) -> AsyncGenerator[str]:
    """Yield each new text so far of a session, until its transcript is complete."""
    text = ""
    async with aclosing(session.transcribe(meter.timed(audio))) as events:
        async for event in events:
            if isinstance(event, FinalTranscript):
                meter.heard(event)
            if (
                isinstance(event, PartialTranscript | FinalTranscript)
                and event.text_so_far != text
            ):
                text = event.text_so_far
                yield text
            elif isinstance(event, EndOfTurn):
                _LOGGER.debug("End of the turn: %s", event.reason)
    meter.answered()


class _PartialEvents:
    """A run's partial transcript events: at most one per interval, with the latest text.

    Each event goes to the recorder's database, and a server can send thousands of
    partials; the final event is fired directly, never held back.
    """

    def __init__(self, hass: HomeAssistant, fire: Callable[[str], None]) -> None:
        """Fire nothing yet."""
        self._fire = fire
        self._latest = self._fired = ""
        self._debouncer = Debouncer(
            hass,
            _LOGGER,
            cooldown=PARTIAL_EVENT_INTERVAL,
            immediate=True,
            function=self._fire_latest,
        )

    def update(self, text: str) -> None:
        """Take a new text so far: fired now, or at the end of the interval."""
        self._latest = text
        self._debouncer.async_schedule_call()

    def stop(self, *, deliver: bool = False) -> None:
        """Fire no more; with deliver, the latest text first if it was not fired."""
        self._debouncer.async_shutdown()
        if deliver:
            self._fire_latest()

    @callback
    def _fire_latest(self) -> None:
        if self._latest != self._fired:
            self._fired = self._latest
            self._fire(self._latest)
