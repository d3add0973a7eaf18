"""Usage sensors: what the entry's sessions cost and how fast they answered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import SpeechmaticsConfigEntry
from .entity import service_device
from .usage import SessionUsage, signal_session_ended

# Speechmatics bills audio time and limits concurrent sessions: the entities do not
# poll, they add each ended session (pushed through the dispatcher).
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class UsageSensorDescription(SensorEntityDescription):
    """A usage sensor: how an ended session changes its value."""

    add: Callable[[float | None, SessionUsage], float | None]


def _total(value: float | None, amount: float) -> float:
    return (value or 0) + amount


SENSORS: tuple[UsageSensorDescription, ...] = (
    UsageSensorDescription(
        key="audio_transcribed",
        translation_key="audio_transcribed",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=1,
        state_class=SensorStateClass.TOTAL_INCREASING,
        add=lambda value, usage: _total(value, usage.audio_seconds),
    ),
    UsageSensorDescription(
        key="sessions",
        translation_key="sessions",
        state_class=SensorStateClass.TOTAL_INCREASING,
        add=lambda value, _usage: _total(value, 1),
    ),
    UsageSensorDescription(
        key="failed_sessions",
        translation_key="failed_sessions",
        state_class=SensorStateClass.TOTAL_INCREASING,
        add=lambda value, usage: _total(value, usage.failed),
    ),
    UsageSensorDescription(
        key="response_time",
        translation_key="response_time",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        suggested_display_precision=0,
        state_class=SensorStateClass.MEASUREMENT,
        add=lambda value, usage: (
            value if usage.response_seconds is None else usage.response_seconds * 1000
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SpeechmaticsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the usage sensors of a config entry."""
    async_add_entities(UsageSensor(entry, description) for description in SENSORS)


class UsageSensor(RestoreSensor):
    """A figure of the entry's sessions, kept across restarts."""

    entity_description: UsageSensorDescription
    _attr_has_entity_name = True
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_should_poll = False

    def __init__(
        self, entry: SpeechmaticsConfigEntry, description: UsageSensorDescription
    ) -> None:
        """Describe one usage sensor of an entry."""
        self.entity_description = description
        self._entry_id = entry.entry_id
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = service_device(entry)

    async def async_added_to_hass(self) -> None:
        """Take the value from before the restart; add each session that ends."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_sensor_data()) is not None and (
            isinstance(last.native_value, int | float)
        ):
            self._attr_native_value = last.native_value
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_session_ended(self._entry_id), self._session_ended
            )
        )

    @callback
    def _session_ended(self, usage: SessionUsage) -> None:
        value = self._attr_native_value
        self._attr_native_value = self.entity_description.add(
            value if isinstance(value, int | float) else None, usage
        )
        self.async_write_ha_state()
