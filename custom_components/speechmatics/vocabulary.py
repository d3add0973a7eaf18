"""The home's own names as custom vocabulary: what Assist can act on, kept current.

The names are gathered off the audio path, when a registry, a name or an exposure
setting changes (debounced); a session only merges the prepared list with the user's
own entries. Nothing but names leaves the house.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
import logging
import re
from typing import Any

from homeassistant.components.homeassistant.const import DATA_EXPOSED_ENTITIES
from homeassistant.components.homeassistant.exposed_entities import (
    async_listen_entity_updates,
    async_should_expose,
)
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.helpers.debounce import Debouncer

from .realtime import AdditionalVocab
from .realtime.config import MAX_ADDITIONAL_VOCAB, MAX_VOCAB_WORDS

_LOGGER = logging.getLogger(__name__)

# The assistant whose exposure settings count: Home Assistant's conversation agent.
ASSISTANT = "conversation"
# The sources of a session's vocabulary, in the order they are kept under the cap.
SOURCES = ("user", "areas", "floors", "entities", "aliases", "devices")
# Names change in bursts (a start, an integration adding its entities): wait for quiet.
REBUILD_COOLDOWN = 1.0

_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
_PUNCTUATION = re.compile(r"[^\w\s]")


@dataclass(frozen=True, slots=True)
class HomeName:
    """A spoken name of the home, ready to send: its text, its key and its source."""

    content: str
    key: str
    source: str


def spoken_name(name: str) -> str | None:
    """Return a name as it is sent, or None for what cannot be a spoken name.

    Spacing is collapsed; bare numbers, entity ids and phrases the service would drop
    (over six words) are not names.
    """
    content = " ".join(name.split())
    if not any(char.isalpha() for char in content) or _ENTITY_ID.match(content):
        return None
    if len(content.split()) > MAX_VOCAB_WORDS:
        return None
    return content


def name_key(content: str) -> str:
    """Return what two spellings of one name share: no case, punctuation or spacing."""
    return " ".join(_PUNCTUATION.sub(" ", content).casefold().split())


def prepare(sources: Iterable[tuple[str, Iterable[str]]]) -> tuple[HomeName, ...]:
    """Return the names of each source in order, normalised, each key once."""
    seen: set[str] = set()
    names: list[HomeName] = []
    for source, raw_names in sources:
        for raw in raw_names:
            if (content := spoken_name(raw)) is None:
                continue
            if (key := name_key(content)) in seen:
                continue
            seen.add(key)
            names.append(HomeName(content, key, source))
    return tuple(names)


def merge(
    user: Sequence[AdditionalVocab], home: Sequence[HomeName]
) -> tuple[tuple[AdditionalVocab, ...], dict[str, int]]:
    """Return the user's entries, then the home's names they do not already have.

    The user's entries win and keep their sounds-like spellings; the list stops at the
    service's limit. Also returns how many entries came from each source.
    """
    counts = dict.fromkeys(SOURCES, 0)
    counts["user"] = len(user)
    taken = {name_key(entry.content) for entry in user}
    vocab = list(user)
    for name in home:
        if len(vocab) >= MAX_ADDITIONAL_VOCAB:
            break
        if name.key not in taken:
            vocab.append(AdditionalVocab(name.content))
            counts[name.source] += 1
    return tuple(vocab), counts


def home_sources(hass: HomeAssistant) -> list[tuple[str, list[str]]]:
    """Return the names Assist can act on, by source: areas, floors, exposed entities."""
    areas = [
        name
        for area in ar.async_get(hass).async_list_areas()
        for name in (area.name, *sorted(area.aliases))
    ]
    floors = [
        name
        for floor in fr.async_get(hass).async_list_floors()
        for name in (floor.name, *sorted(floor.aliases))
    ]
    entities: list[str] = []
    aliases: list[str] = []
    devices: list[str] = []
    if DATA_EXPOSED_ENTITIES in hass.data:  # the homeassistant component is set up
        entity_registry = er.async_get(hass)
        device_registry = dr.async_get(hass)
        for state in hass.states.async_all():
            if not async_should_expose(hass, ASSISTANT, state.entity_id):
                continue
            entities.append(state.name)
            if (entry := entity_registry.async_get(state.entity_id)) is None:
                continue
            aliases.extend(alias for alias in entry.aliases if isinstance(alias, str))
            if entry.device_id and (
                device := device_registry.async_get(entry.device_id)
            ):
                devices.append(device.name_by_user or device.name or "")
    return [
        ("areas", areas),
        ("floors", floors),
        ("entities", entities),
        ("aliases", aliases),
        ("devices", devices),
    ]


@callback
def _name_changed(data: Any) -> bool:
    """Return whether a state change adds, removes or renames an entity."""
    old, new = data["old_state"], data["new_state"]
    return old is None or new is None or old.name != new.name


class HomeVocabulary:
    """The home's names, prepared for sessions and rebuilt when they change."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Prepare nothing yet: async_start builds the list and listens for changes."""
        self._hass = hass
        self.names: tuple[HomeName, ...] = ()
        self._debouncer = Debouncer(
            hass,
            _LOGGER,
            cooldown=REBUILD_COOLDOWN,
            immediate=False,
            function=self.async_rebuild,
        )

    @callback
    def async_rebuild(self) -> None:
        """Gather the home's names again."""
        self.names = prepare(home_sources(self._hass))
        _LOGGER.debug("Vocabulary from the home: %d names", len(self.names))

    @callback
    def async_start(self) -> Callable[[], None]:
        """Build the list now and keep it current; return what stops the listeners."""
        self.async_rebuild()
        bus = self._hass.bus
        schedule = self._schedule
        unsubscribes = [
            bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, schedule),
            bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, schedule),
            bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, schedule),
            bus.async_listen(fr.EVENT_FLOOR_REGISTRY_UPDATED, schedule),
            bus.async_listen(EVENT_STATE_CHANGED, schedule, event_filter=_name_changed),
        ]
        if DATA_EXPOSED_ENTITIES in self._hass.data:
            unsubscribes.append(
                async_listen_entity_updates(self._hass, ASSISTANT, schedule)
            )

        @callback
        def stop() -> None:
            for unsubscribe in unsubscribes:
                unsubscribe()
            self._debouncer.async_shutdown()

        return stop

    @callback
    def _schedule(self, *_args: Any) -> None:
        """Rebuild once the changes have settled."""
        self._debouncer.async_schedule_call()
