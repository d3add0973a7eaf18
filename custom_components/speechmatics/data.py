"""Types of the runtime data a Speechmatics config entry holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .health import ServiceHealth
from .options import EntryOptions, check_options, log_problems
from .realtime import RealtimeClient
from .vocabulary import HomeVocabulary


@dataclass
class SpeechmaticsData:
    """What a loaded config entry holds."""

    client: RealtimeClient
    health: ServiceHealth
    vocabulary: HomeVocabulary
    sessions: int = 0
    _checked: tuple[Mapping[str, Any], EntryOptions] | None = field(
        default=None, repr=False
    )

    def options(self, entry: ConfigEntry) -> EntryOptions:
        """Return the entry's options, checked once each time they change."""
        if self._checked is None or self._checked[0] is not entry.options:
            options, problems = check_options(entry.options)
            if problems:
                log_problems(entry.title, problems)
            self._checked = (entry.options, options)
        return self._checked[1]


type SpeechmaticsConfigEntry = ConfigEntry[SpeechmaticsData]
