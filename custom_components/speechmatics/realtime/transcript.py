"""Assemble transcript text from Speechmatics recognition results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidMessage
from .events import AttachesTo, ResultItem

# Minutes of speech; a voice command is seconds. Past it the server is misbehaving.
MAX_TRANSCRIPT_CHARS = 10_000

_GLUES_TO_PREVIOUS = frozenset({AttachesTo.PREVIOUS, AttachesTo.BOTH})
_GLUES_TO_NEXT = frozenset({AttachesTo.NEXT, AttachesTo.BOTH})


@dataclass(frozen=True, slots=True)
class _Join:
    """Where a text ends: whether it has content, and whether that glues to what follows."""

    has_text: bool = False
    glues_to_next: bool = False


def _join(
    items: Iterable[ResultItem], delimiter: str, state: _Join
) -> tuple[str, _Join]:
    """Render results after a text ending in the given state; return text and new state."""
    parts: list[str] = []
    has_text, glues_to_next = state.has_text, state.glues_to_next
    for item in items:
        if not item.content:
            continue
        if (
            has_text
            and not glues_to_next
            and item.attaches_to not in _GLUES_TO_PREVIOUS
        ):
            parts.append(delimiter)
        parts.append(item.content)
        has_text = True
        glues_to_next = item.attaches_to in _GLUES_TO_NEXT
    return "".join(parts), _Join(has_text, glues_to_next)


def render(items: Iterable[ResultItem], word_delimiter: str = " ") -> str:
    """Render one segment of results as text."""
    return _join(items, word_delimiter, _Join())[0]


class Transcript:
    """The running transcript: every final segment so far, plus the current partial."""

    def __init__(self, word_delimiter: str = " ") -> None:
        """Start empty; the delimiter comes from the language pack."""
        self.word_delimiter = word_delimiter
        self._final = ""
        self._final_state = _Join()
        self._partial = ""

    def add_final(self, items: Iterable[ResultItem]) -> None:
        """Append a final segment; it replaces the partial, which covered the same words."""
        text, self._final_state = _join(items, self.word_delimiter, self._final_state)
        _check_length(len(self._final) + len(text))
        self._final += text
        self._partial = ""

    def set_partial(self, items: Iterable[ResultItem]) -> None:
        """Replace the not-yet-final tail."""
        partial = _join(items, self.word_delimiter, self._final_state)[0]
        _check_length(len(self._final) + len(partial))
        self._partial = partial

    @property
    def final_text(self) -> str:
        """Return the text of every final segment."""
        return self._final.strip()

    @property
    def text(self) -> str:
        """Return the text so far: the finals followed by the current partial."""
        return (self._final + self._partial).strip()


def _check_length(length: int) -> None:
    """Refuse a transcript longer than any a voice command has."""
    if length > MAX_TRANSCRIPT_CHARS:
        msg = f"the transcript is longer than {MAX_TRANSCRIPT_CHARS} characters"
        raise InvalidMessage(msg)
