"""Document chunking: size limits, paragraph-first cuts, overlap, coverage and determinism."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.extractors.chunking import TextPiece, chunk_sections, chunk_text

words = st.from_regex(r"[a-z]{1,12}", fullmatch=True)
separators = st.sampled_from([" ", " ", " ", ". ", ".\n", "\n\n", ", "])


@st.composite
def documents(draw):
    tokens = draw(st.lists(words, min_size=1, max_size=600))
    return "".join(token + draw(separators) for token in tokens)


def test_short_text_is_one_chunk():
    assert chunk_text("  One small paragraph.  ") == ["One small paragraph."]
    assert chunk_text("") == [] and chunk_text(" \n\n ") == []


def test_paragraph_boundaries_are_preferred():
    paragraphs = [f"Paragraph {i} " + "word " * 70 for i in range(6)]
    chunks = chunk_text("\n\n".join(p.strip() for p in paragraphs), max_chars=1000, overlap=0)
    # Each chunk holds whole paragraphs: cuts land between them.
    for chunk in chunks:
        assert chunk.startswith("Paragraph") and chunk.endswith("word")
    assert len(chunks) == 3


def test_long_paragraph_is_cut_at_sentence_ends():
    text = " ".join(f"Sentence number {i} is here." for i in range(100))
    chunks = chunk_text(text, max_chars=300, overlap=0)
    assert len(chunks) > 5
    assert all(chunk.endswith(".") for chunk in chunks)


def test_text_without_spaces_is_hard_split():
    chunks = chunk_text("x" * 2500, max_chars=1000, overlap=0)
    assert "".join(chunks) == "x" * 2500
    assert all(len(c) <= 1000 for c in chunks)


def test_consecutive_chunks_overlap():
    text = " ".join(f"token{i}" for i in range(600))
    chunks = chunk_text(text, max_chars=500, overlap=60)
    assert len(chunks) > 3
    for before, after in zip(chunks, chunks[1:]):
        carried = after.split(" ")[0]
        assert carried in before[-60:]
        assert 0 < len(before) - before.rfind(carried) <= 60


@settings(max_examples=150, deadline=None)
@given(documents(), st.integers(min_value=40, max_value=400), st.integers(min_value=0, max_value=19))
def test_chunks_respect_the_limit_and_cover_every_word(text, max_chars, overlap):
    chunks = chunk_text(text, max_chars=max_chars, overlap=overlap)
    assert all(0 < len(c) <= max_chars for c in chunks)
    assert all(c == c.strip() for c in chunks)
    # Every word of the document appears, in order, once overlaps are removed.
    found = " ".join(chunks)
    for word in set(re.findall(r"[a-z]+", text)):
        assert word in found
    assert chunks == chunk_text(text, max_chars=max_chars, overlap=overlap)


@settings(max_examples=100, deadline=None)
@given(documents())
def test_without_overlap_chunks_reassemble_the_text(text):
    chunks = chunk_text(text, max_chars=120, overlap=0)
    assert re.sub(r"\s+", "", "".join(chunks)) == re.sub(r"\s+", "", text)


def test_sections_keep_their_pages_and_never_merge():
    sections = [TextPiece("Page one text.", 1), TextPiece("   ", 2), TextPiece("Page three text.", 3)]
    assert chunk_sections(sections) == [TextPiece("Page one text.", 1), TextPiece("Page three text.", 3)]


@pytest.mark.parametrize("max_chars, overlap", [(1, 0), (100, 50), (100, -1)])
def test_rejects_impossible_settings(max_chars, overlap):
    with pytest.raises(ValueError):
        chunk_text("some text", max_chars=max_chars, overlap=overlap)
