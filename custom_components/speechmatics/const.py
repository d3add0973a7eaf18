"""Constants for the Speechmatics integration."""

from typing import Final

DOMAIN: Final = "speechmatics"
