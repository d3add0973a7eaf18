"""Tests for assembling transcript text from recognition results."""

from __future__ import annotations

import pytest

from custom_components.speechmatics.realtime import (
    AttachesTo,
    InvalidMessage,
    ResultItem,
    Transcript,
    messages,
    render,
)


def word(content: str) -> ResultItem:
    """Return a word."""
    return ResultItem(content)


def mark(content: str, attaches_to: AttachesTo = AttachesTo.PREVIOUS) -> ResultItem:
    """Return a punctuation mark."""
    return ResultItem(content, type="punctuation", attaches_to=attaches_to)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            [word("So"), word("with"), word("all"), mark(","), word("lets")],
            "So with all, lets",
        ),
        (
            [mark("¿", AttachesTo.NEXT), word("Qué"), word("tal"), mark("?")],
            "¿Qué tal?",
        ),
        ([word("rock"), mark("-", AttachesTo.BOTH), word("solid")], "rock-solid"),
        ([word("a"), mark("&", AttachesTo.NONE), word("b")], "a & b"),
        ([word("x"), ResultItem(""), word("y")], "x y"),
        ([], ""),
    ],
)
def test_render_attaches_punctuation(items: list[ResultItem], expected: str) -> None:
    """Test words are joined by the delimiter and punctuation as it attaches."""
    assert render(items) == expected


def test_finals_do_not_concatenate_metadata_strings() -> None:
    """Test a punctuation-only final attaches, and the next final gets its space."""
    transcript = Transcript()
    transcript.add_final([word("Turn"), word("on")])
    transcript.add_final([mark(".")])
    transcript.add_final([])
    transcript.add_final([word("Thanks")])
    assert transcript.final_text == "Turn on. Thanks"


def test_partial_is_the_tail_after_the_finals() -> None:
    """Test the text so far is the finals plus the current partial, which a final replaces."""
    transcript = Transcript()
    transcript.set_partial([word("Turn")])
    assert transcript.text == "Turn"
    assert transcript.final_text == ""
    transcript.set_partial([word("Turn"), word("on")])
    transcript.add_final([word("Turn")])
    assert transcript.text == "Turn"
    transcript.set_partial([word("on"), word("the")])
    assert transcript.text == "Turn on the"
    transcript.set_partial([mark(",")])
    assert transcript.text == "Turn,"
    transcript.set_partial([])
    assert transcript.text == "Turn"


def test_no_delimiter_languages() -> None:
    """Test languages without a word delimiter join words directly."""
    transcript = Transcript(word_delimiter="")
    transcript.add_final([word("電気"), word("を")])
    transcript.set_partial([word("つけて"), mark("。")])
    assert transcript.final_text == "電気を"
    assert transcript.text == "電気をつけて。"


def test_final_text_is_stripped() -> None:
    """Test surrounding white space in contents does not reach the final text."""
    transcript = Transcript()
    transcript.add_final([word(" hello ")])
    assert transcript.final_text == "hello"


def test_unknown_attachment_counts_as_none() -> None:
    """Test a punctuation attachment this client does not know is treated as none."""
    message = {
        "results": [
            {"type": "word", "alternatives": [{"content": "a"}]},
            {
                "type": "punctuation",
                "attaches_to": "sideways",
                "alternatives": [{"content": "+"}],
            },
            {"type": "word", "alternatives": [{"content": "b", "confidence": 1}]},
        ]
    }
    items = messages.parse_results(message)
    assert items[1].attaches_to is AttachesTo.NONE
    assert items[2].confidence == 1.0
    assert render(items) == "a + b"
    message["results"][1]["attaches_to"] = ["previous"]
    assert messages.parse_results(message)[1].attaches_to is AttachesTo.NONE


def test_results_are_parsed_field_by_field() -> None:
    """Test every field of a result reaches its item, numbers as floats."""
    raw = {
        "type": "punctuation",
        "attaches_to": "previous",
        "start_time": 1,
        "end_time": 1.5,
        "is_eos": True,
        "alternatives": [{"content": ".", "confidence": 0.5}],
    }
    (item,) = messages.parse_results({"results": [raw]})
    assert item == ResultItem(
        ".", "punctuation", AttachesTo.PREVIOUS, 1.0, 1.5, 0.5, is_eos=True
    )
    assert type(item.start_time) is float
    with pytest.raises(InvalidMessage, match="expected a number, got bool"):
        messages.parse_results({"results": [{**raw, "end_time": True}]})
