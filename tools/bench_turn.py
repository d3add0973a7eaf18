"""End of speech -> stt-end: how soon each turn-taking setting answers, and how well.

Run by scripts/bench-turn through pytest, for its Home Assistant test harness (see the
README, "Turn-taking"); tests/test_bench_smoke.py runs it with one command. The twelve
espeak-ng commands of the local-engine tests, in room noise (pink noise over the speech
and after it), go in real time, in 10 ms chunks, through Home Assistant's real assist
pipeline, with its voice activity detection (micro VAD) enabled, into the integration
and the local engine, which runs in a process of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
import json
import logging
import os
from pathlib import Path
import statistics
import time
from typing import Any

from homeassistant.components.assist_pipeline import (
    AudioSettings,
    PipelineEvent,
    PipelineEventType,
    PipelineStage,
    async_get_pipeline,
    async_pipeline_from_audio_stream,
    async_update_pipeline,
)
from homeassistant.const import CONF_URL
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics.const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_CONTENT,
    CONF_END_OF_SPEECH,
    CONF_END_OF_UTTERANCE_SILENCE,
    DOMAIN,
)
from tools.bench import ServerProcess, metadata
from tools.spoken import COMMANDS, HOME, RATE, normalised, voice

ENTITY_ID = "stt.speechmatics_127_0_0_1_speech_to_text"
CHUNK_SAMPLES = 160  # 10 ms
LEAD_SECONDS = 0.5  # room noise before the words
# Noise goes on after the words until the run ends: long enough for Home Assistant's
# 15 s timeout to show.
TAIL_SECONDS = 16.0
# The speech's RMS while speaking, and the room: quiet, and loud.
SPEECH_DBFS = -20.0
QUIET_ROOM_DBFS = -45.0
LOUD_ROOM_DBFS = -35.0
WITHIN_SECONDS = 3.0
HESITATION = 0.4


@dataclass(frozen=True)
class Setting:
    """One way of ending the command, in one room."""

    name: str
    end_of_speech: str
    silence: float  # Home Assistant's silence seconds, or Speechmatics' trigger
    noise_dbfs: float = QUIET_ROOM_DBFS
    pause: float = 0.0  # a hesitation in the middle of the command

    @property
    def options(self) -> dict[str, Any]:
        """Return the entry options of the setting."""
        if self.end_of_speech == "home_assistant":
            return {CONF_END_OF_SPEECH: "home_assistant"}
        return {
            CONF_END_OF_SPEECH: "speechmatics",
            CONF_END_OF_UTTERANCE_SILENCE: self.silence,
        }

    @property
    def audio_settings(self) -> AudioSettings:
        """Return the pipeline's audio settings: its VAD on, at this sensitivity."""
        silence = self.silence if self.end_of_speech == "home_assistant" else 0.7
        return AudioSettings(is_vad_enabled=True, silence_seconds=silence)


SETTINGS = (
    Setting("home_assistant default (0.7 s)", "home_assistant", 0.7),
    Setting("home_assistant relaxed (1.25 s)", "home_assistant", 1.25),
    Setting("speechmatics 0.3 s", "speechmatics", 0.3),
    Setting("speechmatics 0.5 s", "speechmatics", 0.5),
    Setting("speechmatics 0.8 s", "speechmatics", 0.8),
    Setting("loud room: home_assistant default", "home_assistant", 0.7, LOUD_ROOM_DBFS),
    Setting("loud room: speechmatics 0.5 s", "speechmatics", 0.5, LOUD_ROOM_DBFS),
    # "turn on the ... kitchen light": shorter than Home Assistant's default 0.7 s.
    *(
        Setting(f"{HESITATION} s pause: {name}", mode, silence, pause=HESITATION)
        for name, mode, silence in (
            ("home_assistant default", "home_assistant", 0.7),
            ("speechmatics 0.3 s", "speechmatics", 0.3),
            ("speechmatics 0.5 s", "speechmatics", 0.5),
            ("speechmatics 0.8 s", "speechmatics", 0.8),
        )
    ),
)


def pink_noise(samples: int, dbfs: float, seed: int) -> np.ndarray:
    """Return pink (1/f) noise at an RMS level in dBFS."""
    white = np.random.default_rng(seed).normal(size=samples)
    spectrum = np.fft.rfft(white)
    frequencies = np.fft.rfftfreq(samples, 1 / RATE)
    spectrum[1:] /= np.sqrt(frequencies[1:])
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, samples)
    return noise * (32768 * 10 ** (dbfs / 20) / np.sqrt(np.mean(noise**2)))


def trimmed(text: str) -> np.ndarray:
    """Return espeak-ng's speech of text without the silence around it."""
    words = voice(text)
    loud = np.abs(words) > 0.02 * np.max(np.abs(words))
    return words[int(np.argmax(loud)) : len(words) - int(np.argmax(loud[::-1]))]


def command_audio(
    command: str, noise_dbfs: float, pause: float = 0.0
) -> tuple[bytes, int]:
    """Return a command in room noise, and the sample where its speech ends.

    With a pause the command is spoken in two halves with that much silence between.
    """
    if pause:
        split = command.split()
        half = len(split) // 2
        gap = np.zeros(round(pause * RATE))
        words = np.concatenate(
            (trimmed(" ".join(split[:half])), gap, trimmed(" ".join(split[half:])))
        )
    else:
        words = trimmed(command)
    words *= 32768 * 10 ** (SPEECH_DBFS / 20) / np.sqrt(np.mean(words[words != 0] ** 2))
    lead = round(LEAD_SECONDS * RATE)
    total = lead + len(words) + round(TAIL_SECONDS * RATE)
    audio = pink_noise(total, noise_dbfs, seed=len(command))
    audio[lead : lead + len(words)] += words
    pcm = np.clip(audio, -32768, 32767).astype("<i2").tobytes()
    return pcm, lead + len(words)


@dataclass
class Run:
    """What one command's run did."""

    text: str | None = None
    end_of_speech_at: float | None = None
    stt_end_at: float | None = None
    vad_timed_out: bool = False
    error: str | None = None

    @property
    def latency(self) -> float | None:
        """Return seconds from the end of speech to stt-end (negative: cut short)."""
        if self.end_of_speech_at is None or self.stt_end_at is None:
            return None
        return self.stt_end_at - self.end_of_speech_at

    @property
    def cut(self) -> bool:
        """Return whether the run answered before the speech had ended."""
        return self.latency is not None and self.latency < 0


async def satellite(audio: bytes, end_sample: int, run: Run) -> AsyncIterator[bytes]:
    """Yield 10 ms chunks in real time; note when the last chunk of speech is due.

    Due, not sent: a run that ends before it (cut short) stops the stream first.
    """
    size = CHUNK_SAMPLES * 2
    start = time.monotonic()
    run.end_of_speech_at = start + end_sample // CHUNK_SAMPLES * CHUNK_SAMPLES / RATE
    for index in range(len(audio) // size):
        delay = start + index * CHUNK_SAMPLES / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield audio[index * size : (index + 1) * size]


async def run_command(
    hass: HomeAssistant, setting: Setting, command: str, audio: bytes, end: int
) -> Run:
    """Run the speech-to-text stage for one command."""
    run = Run()

    def on_event(event: PipelineEvent) -> None:
        if event.type is PipelineEventType.STT_END:
            run.stt_end_at = time.monotonic()
            run.text = event.data["stt_output"]["text"] if event.data else None
        elif event.type is PipelineEventType.ERROR and event.data:
            run.error = event.data["code"]
        elif event.type is PipelineEventType.STT_VAD_END and event.data:
            run.vad_timed_out = event.data["timestamp"] >= 15000 - 10

    await async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=on_event,
        stt_metadata=metadata(),
        stt_stream=satellite(audio, end, run),
        start_stage=PipelineStage.STT,
        end_stage=PipelineStage.STT,
        audio_settings=setting.audio_settings,
    )
    await hass.async_block_till_done()
    return run


def summary(runs: dict[str, Run]) -> dict[str, Any]:
    """Return a setting's figures."""
    latencies = sorted(
        run.latency * 1000
        for run in runs.values()
        if run.latency is not None and not run.cut
    )
    p95 = latencies[round(0.95 * (len(latencies) - 1))] if latencies else None
    return {
        "commands": len(runs),
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p95_ms": p95,
        "whole": sum(normalised(run.text) == command for command, run in runs.items()),
        "cut": sum(run.cut for run in runs.values()),
        "vad_timeouts": sum(run.vad_timed_out for run in runs.values()),
        "within_3s": sum(
            run.latency is not None and run.latency <= WITHIN_SECONDS
            for run in runs.values()
        ),
        "texts": {command: run.text or run.error for command, run in runs.items()},
    }


async def run_benchmark(
    hass: HomeAssistant,
    settings: Iterable[Setting] = SETTINGS,
    commands: Iterable[str] = COMMANDS,
) -> dict[str, Any]:
    """Run every command under every setting; return the figures per setting."""
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    results: dict[str, Any] = {}
    # The local engine in a process of its own: its decoding is not on our loop.
    async with ServerProcess("tools.local_engine", "--port", "0") as engine:
        vocab = [{CONF_CONTENT: name} for name in HOME]
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Speechmatics (127.0.0.1)",
            data={CONF_URL: engine.url},
            options={CONF_ADDITIONAL_VOCAB: vocab},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        assert await async_setup_component(hass, "homeassistant", {})
        assert await async_setup_component(hass, "assist_pipeline", {})
        await async_update_pipeline(
            hass, async_get_pipeline(hass), stt_engine=ENTITY_ID, stt_language="en-US"
        )
        await hass.async_block_till_done()
        for setting in settings:
            hass.config_entries.async_update_entry(
                entry, options={CONF_ADDITIONAL_VOCAB: vocab, **setting.options}
            )
            runs: dict[str, Run] = {}
            for command in commands:
                audio, end = await asyncio.to_thread(
                    command_audio, command, setting.noise_dbfs, setting.pause
                )
                runs[command] = await run_command(hass, setting, command, audio, end)
            results[setting.name] = summary(runs)
        assert await hass.config_entries.async_unload(entry.entry_id)
    return results


def table(results: dict[str, Any]) -> str:
    """Return the figures as the README's Markdown table."""
    lines = [
        "| setting | p50 (ms) | p95 (ms) | whole | cut short | VAD timeouts | within 3 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, figures in results.items():
        count = figures["commands"]
        p50, p95 = figures["p50_ms"], figures["p95_ms"]
        times = f"{p50:.0f} | {p95:.0f}" if p50 is not None else "- | -"
        counted = (
            f"{figures[key]}/{count}"
            for key in ("whole", "cut", "vad_timeouts", "within_3s")
        )
        lines.append(f"| {name} | {times} | {' | '.join(counted)} |")
    return "\n".join(lines)


@pytest.mark.usefixtures("socket_enabled", "enable_custom_integrations")
async def test_end_of_speech_benchmark(hass: HomeAssistant) -> None:
    """Run the benchmark, print the table and write the JSON (scripts/bench-turn)."""
    results = await run_benchmark(hass)
    output = Path(os.environ.get("BENCH_OUTPUT", "bench-turn-results.json"))
    await asyncio.to_thread(output.write_text, json.dumps(results, indent=2) + "\n")
    print("\n" + table(results) + f"\n\nFigures written to {output}")
