"""Types of the runtime data a Speechmatics config entry holds."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .health import ServiceHealth
from .realtime import RealtimeClient
from .vocabulary import HomeVocabulary


@dataclass
class SpeechmaticsData:
    """What a loaded config entry holds."""

    client: RealtimeClient
    health: ServiceHealth
    vocabulary: HomeVocabulary
    sessions: int = 0


type SpeechmaticsConfigEntry = ConfigEntry[SpeechmaticsData]
