"""The home's names as vocabulary: what the server receives, and that it stays current."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.components import stt
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.speechmatics.const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_VOCABULARY_FROM_HOME,
)
from custom_components.speechmatics.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.speechmatics.realtime import AdditionalVocab
from custom_components.speechmatics.vocabulary import (
    HomeName,
    merge,
    name_key,
    prepare,
    spoken_name,
)
from tools.speechmatics_server import RealtimeServer

from .common import ENTITY_ID, audio_stream, metadata, speech
from .conftest import config_entry

USER_VOCAB = [
    {"content": "Nanoleaf", "sounds_like": ["nano leaf"]},
    {"content": "Zigbee"},
]


async def _home(hass: HomeAssistant) -> None:
    """Build a home of names a general model gets wrong; some not exposed to Assist."""
    assert await async_setup_component(hass, "homeassistant", {})
    floors = fr.async_get(hass)
    loft = floors.async_create("Piano Nobile", aliases={"Belvedere"})
    areas = ar.async_get(hass)
    areas.async_create("Snug", aliases={"Inglenook"}, floor_id=loft.floor_id)
    areas.async_create("Mezzanine")
    device_config = MockConfigEntry(domain="test")
    device_config.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=device_config.entry_id,
        identifiers={("test", "hub")},
        name="Aqara Hub",
    )
    entities = er.async_get(hass)

    def entity(
        object_id: str,
        name: str,
        *,
        aliases: set[str] | None = None,
        device_id: str | None = None,
    ) -> str:
        entry = entities.async_get_or_create(
            "light",
            "test",
            object_id,
            suggested_object_id=object_id,
            device_id=device_id,
        )
        entities.async_update_entity(entry.entity_id, aliases=aliases or set())
        hass.states.async_set(entry.entity_id, "off", {"friendly_name": name})
        return entry.entity_id

    entity("nanoleaf", "nanoleaf")  # the user's entry, spelled otherwise
    entity("lyra", "Govee Lyra", aliases={"Wobbly Lamp"})
    entity("strip", "Hue  Gradient, Lightstrip", device_id=device.id)
    entity("mezzanine", "Mezzanine!")  # an area's name again
    entity("number", "42")  # not a spoken name
    entity("id_named", "light.id_named")  # nor is an entity id
    hidden = entity("lumiere", "Lumière Secrète", aliases={"Hidden Glow"})
    async_expose_entity(hass, "conversation", hidden, should_expose=False)
    # A state without a registry entry: exposed by its domain's default.
    hass.states.async_set("light.plain", "off", {"friendly_name": "Shelly Dimmer"})


@pytest.fixture
async def home_entry(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> MockConfigEntry:
    """Set up the entry in the test home, with the user's own vocabulary."""
    await _home(hass)
    entry = config_entry(fake_speechmatics.url, {CONF_ADDITIONAL_VOCAB: USER_VOCAB})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _sent_vocab(hass: HomeAssistant, fake: RealtimeServer) -> list[Any]:
    """Run one session; return the additional_vocab its StartRecognition carried."""
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    result = await entity.async_process_audio_stream(
        metadata(), audio_stream(speech(1.0))
    )
    assert result.result is stt.SpeechResultState.SUCCESS
    start = fake.sessions[-1].start
    assert start is not None
    return list(start["transcription_config"].get("additional_vocab", []))


async def _settle(hass: HomeAssistant) -> None:
    """Let the debounced rebuild run (time moves on; no wall-clock wait)."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()


async def test_sessions_carry_the_exposed_names(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer, home_entry: MockConfigEntry
) -> None:
    """Test the user's entries, then areas, floors, entities, aliases and devices."""
    vocab = await _sent_vocab(hass, fake_speechmatics)

    assert vocab == [
        {"content": "Nanoleaf", "sounds_like": ["nano leaf"]},
        "Zigbee",
        "Snug",
        "Inglenook",
        "Mezzanine",
        "Piano Nobile",
        "Belvedere",
        "Govee Lyra",
        "Hue Gradient, Lightstrip",
        "Shelly Dimmer",
        "Wobbly Lamp",
        "Aqara Hub",
    ]
    contents = [v if isinstance(v, str) else v["content"] for v in vocab]
    assert len({name_key(c) for c in contents}) == len(contents)
    assert not {"Lumière Secrète", "Hidden Glow", "42"} & set(contents)
    diagnostics = await async_get_config_entry_diagnostics(hass, home_entry)
    assert diagnostics["vocabulary"] == {
        "user": 2,
        "areas": 3,
        "floors": 2,
        "entities": 3,
        "aliases": 1,
        "devices": 1,
    }


async def test_changes_reach_the_next_session(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer, home_entry: MockConfigEntry
) -> None:
    """Test a rename, an alias, exposure both ways and a new area, without a restart."""
    entities = er.async_get(hass)
    entities.async_update_entity("light.lyra", name="Govee Lyra Floor Lamp")
    hass.states.async_set(
        "light.lyra", "off", {"friendly_name": "Govee Lyra Floor Lamp"}
    )
    entities.async_update_entity("light.strip", aliases={"Ribbon of Light"})
    async_expose_entity(hass, "conversation", "light.lumiere", should_expose=True)
    async_expose_entity(hass, "conversation", "light.plain", should_expose=False)
    ar.async_get(hass).async_create("Orangery")
    before = await _sent_vocab(hass, fake_speechmatics)
    await _settle(hass)
    after = await _sent_vocab(hass, fake_speechmatics)

    assert "Orangery" not in before  # debounced: not rebuilt on every change
    for name in ("Govee Lyra Floor Lamp", "Ribbon of Light", "Orangery"):
        assert name in after
    assert "Lumière Secrète" in after
    assert "Hidden Glow" in after
    assert "Shelly Dimmer" not in after
    assert "Govee Lyra" not in after


async def test_the_option_off_sends_only_the_users_list(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer, home_entry: MockConfigEntry
) -> None:
    """Test vocabulary_from_home off: the user's entries alone."""
    hass.config_entries.async_update_entry(
        home_entry,
        options={CONF_ADDITIONAL_VOCAB: USER_VOCAB, CONF_VOCABULARY_FROM_HOME: False},
    )
    assert await _sent_vocab(hass, fake_speechmatics) == [
        {"content": "Nanoleaf", "sounds_like": ["nano leaf"]},
        "Zigbee",
    ]


async def test_unload_stops_the_listeners(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer, home_entry: MockConfigEntry
) -> None:
    """Test an unloaded entry leaves no listener and no pending rebuild behind."""
    vocabulary = home_entry.runtime_data.vocabulary
    names = vocabulary.names
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    ar.async_get(hass).async_create("Orangery")
    await _settle(hass)
    assert vocabulary.names == names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("  Living   Room ", "Living Room"),
        ("42", None),
        ("2.5", None),
        ("light.kitchen", None),
        ("one two three four five six seven", None),
        ("Café 2", "Café 2"),
    ],
)
def test_spoken_names(name: str, expected: str | None) -> None:
    """Test what can be a spoken name, and its spacing."""
    assert spoken_name(name) == expected


def test_merge_is_capped_at_the_service_limit() -> None:
    """Test 1000 entries at most: the user's first, then the home's in their order."""
    user = tuple(AdditionalVocab(f"user {i}") for i in range(10))
    home = prepare([("entities", [f"name {i}" for i in range(2000)] + ["User 3"])])
    vocab, counts = merge(user, home)
    assert len(vocab) == 1000
    assert vocab[:10] == user
    assert vocab[-1] == AdditionalVocab("name 989")
    assert counts["user"] == 10
    assert counts["entities"] == 990


def test_prepare_keeps_the_first_spelling_of_a_name() -> None:
    """Test case, punctuation and spacing do not make two entries."""
    assert prepare([("areas", ["Snug"]), ("entities", ["snug!", " SNUG ", "Den"])]) == (
        HomeName("Snug", "snug", "areas"),
        HomeName("Den", "den", "entities"),
    )
