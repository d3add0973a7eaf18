"""Speech that names unusual things of the home, heard with and without its vocabulary.

espeak-ng commands go through Home Assistant's real assist pipeline into the local
engine, whose grammar is built from the session's vocabulary: with the home's names
it can hear them; without (the option off) it falls back to its general model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from homeassistant.components.assist_pipeline import (
    PipelineStage,
    async_get_pipeline,
    async_pipeline_from_audio_stream,
    async_update_pipeline,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.setup import async_setup_component
import pytest

from custom_components.speechmatics.const import CONF_VOCABULARY_FROM_HOME
from tools.speechmatics_server import RealtimeServer
from tools.spoken import normalised, spoken

from .common import ENTITY_ID, Timeline, chunks, metadata, outcome
from .conftest import config_entry

COMMANDS = (
    "turn on the chandelier",
    "turn off the wurlitzer",
    "set the credenza lamp to fifty percent",
    "turn on the gazebo lights",
    "switch off the jacuzzi",
    "what is the temperature in the mezzanine",
    "what is the temperature in the conservatory",
    "what is the temperature in the inglenook",
    "what is the temperature in the belvedere",
    "dim the chandelier to thirty percent",
)
PACE = 0.0025  # four times a satellite's pace


async def _satellite(audio: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks(audio):
        yield chunk
        await asyncio.sleep(PACE)


async def _heard(hass: HomeAssistant, vocabulary_from_home: bool) -> dict[str, str]:
    """Speak every command; return what came back."""
    entry = hass.config_entries.async_entries("speechmatics")[0]
    hass.config_entries.async_update_entry(
        entry, options={CONF_VOCABULARY_FROM_HOME: vocabulary_from_home}
    )
    results = {}
    for command in COMMANDS:
        timeline = Timeline(hass)
        await async_pipeline_from_audio_stream(
            hass,
            context=Context(),
            event_callback=timeline.on_pipeline,
            stt_metadata=metadata("en-US"),
            stt_stream=_satellite(spoken(command)),
            start_stage=PipelineStage.STT,
            end_stage=PipelineStage.STT,
        )
        timeline.unsub()
        results[command] = outcome(timeline)
    return results


@pytest.mark.usefixtures("socket_enabled")
async def test_the_homes_names_are_heard(
    hass: HomeAssistant, local_engine: RealtimeServer
) -> None:
    """Test commands naming the home's unusual names, option on against option off."""
    assert await async_setup_component(hass, "homeassistant", {})
    floor = fr.async_get(hass).async_create("Belvedere")
    areas = ar.async_get(hass)
    areas.async_create("Mezzanine", floor_id=floor.floor_id)
    areas.async_create("Conservatory", aliases={"Inglenook"})
    entities = er.async_get(hass)
    for object_id, name, aliases in (
        ("chandelier", "Chandelier", set()),
        ("wurlitzer", "Wurlitzer", set()),
        ("credenza", "Credenza lamp", set()),
        ("gazebo", "Gazebo lights", set()),
        ("hot_tub", "Hot tub", {"Jacuzzi"}),
    ):
        entry = entities.async_get_or_create(
            "light", "test", object_id, suggested_object_id=object_id
        )
        entities.async_update_entity(entry.entity_id, aliases=aliases)
        hass.states.async_set(entry.entity_id, "off", {"friendly_name": name})
    entry = config_entry(local_engine.url)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert await async_setup_component(hass, "assist_pipeline", {})
    await async_update_pipeline(
        hass, async_get_pipeline(hass), stt_engine=ENTITY_ID, stt_language="en-US"
    )
    await hass.async_block_till_done()

    with_names = await _heard(hass, vocabulary_from_home=True)
    without = await _heard(hass, vocabulary_from_home=False)
    right = sum(normalised(text) == command for command, text in with_names.items())
    wrong_without = sum(normalised(t) != c for c, t in without.items())
    assert right >= 9, with_names
    # Measured: 10/10 with the home's names, 0/10 without.
    assert wrong_without >= 9, without
