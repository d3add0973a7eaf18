"""The one place client errors become what the user sees.

Form errors, setup exceptions, reauthentication, repair issues and the log lines that
say when the service is away and back.
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .realtime import (
    AudioSourceError,
    AuthenticationError,
    NotAllowed,
    QuotaExceeded,
    SessionClosed,
    SpeechmaticsError,
    TransportError,
    UsageLimitExceeded,
)

_LOGGER = logging.getLogger(__name__)

ISSUE_QUOTA = "quota_exceeded"
ISSUE_USAGE_LIMIT = "usage_limit_exceeded"
_ISSUES = {QuotaExceeded: ISSUE_QUOTA, UsageLimitExceeded: ISSUE_USAGE_LIMIT}


def issue_id(kind: str, entry_id: str) -> str:
    """Return the repair issue id of a kind of problem for one entry."""
    return f"{kind}_{entry_id}"


def form_error(err: Exception) -> str:
    """Return the config flow's error key for a failed validation."""
    if isinstance(err, AuthenticationError | NotAllowed):
        return "invalid_auth"
    if isinstance(err, UsageLimitExceeded):
        return "usage_limit"
    if isinstance(err, SpeechmaticsError):
        _LOGGER.debug("Validation failed: %s", err)
        return "cannot_connect"
    _LOGGER.error("Unexpected error while validating Speechmatics", exc_info=err)
    return "unknown"


def setup_error(err: SpeechmaticsError) -> HomeAssistantError:
    """Return the exception that tells Home Assistant why an entry cannot be set up."""
    if isinstance(err, AuthenticationError):
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        )
    return ConfigEntryNotReady(
        translation_domain=DOMAIN,
        translation_key="cannot_connect",
        translation_placeholders={"error": str(err)},
    )


class ServiceHealth:
    """Turn session outcomes into what the user sees, once per change, not per utterance."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Start as reachable, with no repair issue."""
        self._hass = hass
        self._entry = entry
        self.available = True
        self.last_error: str | None = None
        # Repair issues outlive a restart: the first success looks for them.
        self._may_have_issues = True

    @callback
    def record_success(self) -> None:
        """Clear repair issues and log that the service is back, if it was away."""
        if not self.available:
            _LOGGER.info("Speechmatics is reachable again")
            self.available = True
        if not self._may_have_issues:
            return
        self._may_have_issues = False
        for kind in _ISSUES.values():
            ir.async_delete_issue(
                self._hass, DOMAIN, issue_id(kind, self._entry.entry_id)
            )

    @callback
    def record_failure(self, err: SpeechmaticsError) -> None:
        """Log a failed run and raise what the user can act on."""
        # Log the text, not the exception: a log handler that keeps records (as
        # pytest's does) would otherwise keep the whole failed session alive.
        detail = str(err)
        if isinstance(err, SessionClosed):
            _LOGGER.info("Speech-to-text was stopped: %s", detail)
            return
        if isinstance(err, AudioSourceError):
            _LOGGER.error("The audio stream failed: %r", err.__cause__)
            return
        self.last_error = f"{type(err).__name__}: {detail}"
        if isinstance(err, TransportError):
            if self.available:
                _LOGGER.warning("Speechmatics is unreachable: %s", detail)
                self.available = False
            else:
                _LOGGER.debug("Speechmatics is still unreachable: %s", detail)
            return
        self.available = True
        if isinstance(err, AuthenticationError):
            _LOGGER.error("Speechmatics rejected the API key: %s", detail)
            self._entry.async_start_reauth(self._hass)
            return
        _LOGGER.error("Speech-to-text with Speechmatics failed: %s", detail)
        for error_class, kind in _ISSUES.items():
            if isinstance(err, error_class):
                self._may_have_issues = True
                ir.async_create_issue(
                    self._hass,
                    DOMAIN,
                    issue_id(kind, self._entry.entry_id),
                    is_fixable=False,
                    severity=ir.IssueSeverity.ERROR,
                    translation_key=kind,
                    translation_placeholders={
                        "title": self._entry.title,
                        "reason": err.reason,
                    },
                    learn_more_url="https://www.speechmatics.com/pricing",
                )
