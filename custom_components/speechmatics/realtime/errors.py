"""The exceptions of the Speechmatics Realtime client: one tree, rooted at SpeechmaticsError."""

from __future__ import annotations

from enum import StrEnum


class SpeechmaticsError(Exception):
    """Base of every error the Realtime client raises."""


class TransportError(SpeechmaticsError):
    """The connection to the service failed: it could not be opened, broke or went silent."""


class CannotConnect(TransportError):
    """The WebSocket could not be opened (network, DNS, TLS or an HTTP error status)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        """Keep the HTTP status of a refused handshake, when there was one."""
        super().__init__(message)
        self.status = status


class ConnectionClosed(TransportError):
    """The connection ended before the session was complete."""

    def __init__(self, message: str, *, close_code: int | None = None) -> None:
        """Keep the WebSocket close code, when there was one."""
        super().__init__(message)
        self.close_code = close_code


class SessionClosed(SpeechmaticsError):
    """The session was closed by this client before it was complete."""


class AudioSourceError(SpeechmaticsError):
    """The caller's audio stream raised; the exception it raised is the cause."""


class TooManySessions(SpeechmaticsError):
    """The client already has as many sessions open as it may."""


class InvalidMessage(SpeechmaticsError):
    """The server sent a frame that is not a valid Realtime message."""


class TimeoutStage(StrEnum):
    """The stage of a session that a timeout bounds."""

    CONNECT = "connect"
    START = "start"
    ACK = "ack"
    FINISH = "finish"
    HEARTBEAT = "heartbeat"


class SessionTimeout(TransportError):
    """The server did not answer in time."""

    def __init__(self, stage: TimeoutStage, seconds: float) -> None:
        """Name the stage that timed out and its bound."""
        super().__init__(f"No answer from the server within {seconds:g} s ({stage})")
        self.stage = stage
        self.seconds = seconds


class ServiceError(SpeechmaticsError):
    """The service ended the session with an error; the server's words are kept."""

    retryable = False

    def __init__(
        self, error_type: str, reason: str, *, close_code: int | None = None
    ) -> None:
        """Keep the server's error type, reason and close code."""
        shown = error_type or "unknown error"
        super().__init__(f"{shown}: {reason}" if reason else shown)
        self.error_type = error_type
        self.reason = reason
        self.close_code = close_code


class AuthenticationError(ServiceError):
    """The API key was rejected (HTTP 401 at the handshake or not_authorised)."""


class NotAllowed(ServiceError):
    """The account may not do what the session asked for."""


class QuotaExceeded(ServiceError):
    """The account's limit of concurrent sessions is reached; retry after a few seconds."""

    retryable = True


class UsageLimitExceeded(ServiceError):
    """The account's usage allowance is used up."""


class InvalidConfiguration(ServiceError):
    """The service refused the session's language, model, audio or configuration."""


class TransientServiceError(ServiceError):
    """The service could not work on the session; a later session may succeed."""

    retryable = True


_ERROR_CLASSES: dict[str, type[ServiceError]] = {
    "not_authorised": AuthenticationError,
    "not_allowed": NotAllowed,
    "quota_exceeded": QuotaExceeded,
    "timelimit_exceeded": UsageLimitExceeded,
    "insufficient_funds": UsageLimitExceeded,
    "invalid_model": InvalidConfiguration,
    "invalid_language": InvalidConfiguration,
    "invalid_config": InvalidConfiguration,
    "invalid_audio_type": InvalidConfiguration,
    "invalid_output_format": InvalidConfiguration,
    "invalid_message": InvalidConfiguration,
    "protocol_error": InvalidConfiguration,
    "job_error": TransientServiceError,
    "unknown_error": TransientServiceError,
    "buffer_error": TransientServiceError,
    "data_error": TransientServiceError,
    "session_transfer": TransientServiceError,
    "idle_timeout": TransientServiceError,
    "session_timeout": TransientServiceError,
}

# Close codes the service uses for its error types, for a close without an Error message.
_CLOSE_CODE_TYPES: dict[int, str] = {
    4001: "not_authorised",
    4003: "not_allowed",
    4004: "invalid_model",
    4005: "quota_exceeded",
    4006: "timelimit_exceeded",
    4013: "job_error",
    1003: "protocol_error",
    1011: "unknown_error",
}


def service_error(
    error_type: str, reason: str, *, close_code: int | None = None
) -> ServiceError:
    """Return the exception for an Error message of the given type."""
    error_class = _ERROR_CLASSES.get(error_type, TransientServiceError)
    return error_class(error_type, reason, close_code=close_code)


def error_for_close_code(close_code: int | None) -> ServiceError | None:
    """Return the exception a close code stands for, if it names an error type."""
    if close_code is None or (error_type := _CLOSE_CODE_TYPES.get(close_code)) is None:
        return None
    return service_error(
        error_type, f"connection closed with code {close_code}", close_code=close_code
    )
