"""The benchmark still works: scripts/bench's code with tiny counts (no timing asserts)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest

from tools import bench_turn
from tools.bench import Counts, run_benchmark, table
from tools.spoken import COMMANDS


@pytest.mark.usefixtures("socket_enabled")
async def test_benchmark_runs_with_tiny_counts(hass: HomeAssistant) -> None:
    """Test every figure is measured for both clients and no audio is lost at start."""
    counts = Counts(
        finish_runs=3,
        start_runs=2,
        start_delays=(0.0, 0.2),
        partial_runs=1,
        cpu_levels=(1, 3),
        cpu_seconds=0.3,
        cpu_repeats=1,
        memory_sessions=2,
    )
    results = await run_benchmark(hass, counts)
    for client in ("integration", "speechmatics-rt"):
        figures = results[client]
        assert figures["finish_overhead_ms"]["runs"] == 3
        assert set(figures["start_overhead_ms"]) == {"0", "0.2"}
        assert all(f["bytes_lost"] == 0 for f in figures["start_overhead_ms"].values())
        assert figures["partial_latency_ms"]["runs"] > 0
        assert 0 < figures["partial_latency_ms"]["events_per_partial"] <= 1
        assert set(figures["cpu_ms_per_audio_second"]) == {"1", "3"}
        assert figures["memory_kib_per_session"] > 0
        assert figures["endurance"]["runs"] == 3
    assert results["floor"]["finish_overhead_ms"]["runs"] == 3
    printed = table(results)
    assert "| finish overhead p95 (ms) |" in printed
    assert "bare WebSocket floor" in printed


@pytest.mark.usefixtures("socket_enabled")
async def test_end_of_speech_benchmark_runs_with_one_command(
    hass: HomeAssistant,
) -> None:
    """Test scripts/bench-turn's code: one command in each mode comes back whole, timed."""
    settings = [bench_turn.SETTINGS[0], bench_turn.SETTINGS[3]]
    results = await bench_turn.run_benchmark(hass, settings, COMMANDS[:1])
    assert list(results) == [setting.name for setting in settings]
    for figures in results.values():
        assert figures["commands"] == figures["whole"] == 1, figures["texts"]
        assert figures["vad_timeouts"] == figures["cut"] == 0
        assert 0 < figures["p50_ms"] == figures["p95_ms"]
    printed = bench_turn.table(results)
    assert "| speechmatics 0.5 s |" in printed
