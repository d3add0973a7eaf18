"""What the vocabulary from the home costs: build time, session-start merge, message size.

Run by scripts/bench-vocab through pytest, for its Home Assistant test harness (see the
README, "Vocabulary from your home"). A home of 50, 500 and 2,000 exposed lights, each
with a device and an alias, in 20 areas on 3 floors. The rebuild is one synchronous call
on the event loop, so its time is the longest stretch it blocks the loop.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics.const import DOMAIN, LANGUAGES
from custom_components.speechmatics.options import (
    check_options,
    session_vocab,
    transcription_config,
)
from custom_components.speechmatics.realtime import AudioFormat, messages
from custom_components.speechmatics.vocabulary import HomeVocabulary

SIZES = (50, 500, 2000)
REPEATS = 20


async def _home(hass: HomeAssistant, size: int) -> None:
    """Add `size` exposed lights with a device and an alias each, in 20 areas."""
    floors = [fr.async_get(hass).async_create(f"Floor {i}") for i in range(3)]
    for i in range(20):
        ar.async_get(hass).async_create(
            f"Room {i}", floor_id=floors[i % 3].floor_id, aliases={f"Chamber {i}"}
        )
    source = MockConfigEntry(domain="test")
    source.add_to_hass(hass)
    devices, entities = dr.async_get(hass), er.async_get(hass)
    for i in range(size):
        device = devices.async_get_or_create(
            config_entry_id=source.entry_id,
            identifiers={("test", str(i))},
            name=f"Lamp unit {i}",
        )
        entry = entities.async_get_or_create(
            "light", "test", str(i), device_id=device.id, suggested_object_id=f"l{i}"
        )
        entities.async_update_entity(entry.entity_id, aliases={f"Glow {i}"})
        hass.states.async_set(entry.entity_id, "off", {"friendly_name": f"Light {i}"})


def _timed(function: Any) -> float:
    """Return the median milliseconds of a call."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@pytest.mark.usefixtures("enable_custom_integrations")
@pytest.mark.parametrize("size", SIZES)
async def test_vocabulary_cost(hass: HomeAssistant, size: int) -> None:
    """Measure one home size and print its row (scripts/bench-vocab)."""
    assert await async_setup_component(hass, "homeassistant", {})
    await _home(hass, size)
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_URL: "ws://127.0.0.1:1/v2"})
    vocabulary = HomeVocabulary(hass)
    build_ms = _timed(vocabulary.async_rebuild)
    options = check_options(entry.options)[0]
    merge_ms = _timed(lambda: session_vocab(options, vocabulary.names))
    config = transcription_config(options, LANGUAGES["en-US"], vocabulary.names)
    start = json.dumps(messages.start_recognition(config, AudioFormat()))
    counts = session_vocab(options, vocabulary.names)[1]
    print(
        f"\n| {size} | {len(vocabulary.names)} | {sum(counts.values())} "
        f"| {len(start) / 1024:.1f} | {build_ms:.1f} | {merge_ms:.2f} |"
    )
