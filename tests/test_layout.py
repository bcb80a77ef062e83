"""The layout every structured format reader writes through: exact offsets, cut short cleanly."""

import pytest

from rag._layout import Full, Layout


def test_offsets_of_pages_and_marks_are_exact():
    layout = Layout(max_chars=1000)
    layout.page("slide 1")
    layout.add("Title")
    layout.add("   ")  # blank paragraphs are dropped
    layout.mark("slide 1, speaker notes")
    layout.add("Notes\r\nwith a line")
    layout.page("slide 2")
    layout.add("Second\x07 slide")
    text = layout.text
    assert text == "Title\n\nNotes\nwith a line\n\nSecond slide"
    assert layout.page_starts == [0, text.index("Second")]
    assert layout.locations == [
        (0, "slide 1"),
        (text.index("Notes"), "slide 1, speaker notes"),
        (text.index("Second"), "slide 2"),
    ]


def test_full_keeps_what_fits():
    layout = Layout(max_chars=12)
    layout.add("First")
    with pytest.raises(Full):
        layout.add("Second paragraph")
    assert layout.text == "First\n\nSecon" and layout.length == 12
