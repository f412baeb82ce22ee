"""embed_text / embed_texts: deterministic, normalised, batch-consistent and equal to the naive reference."""
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.extractors import embed_text, embed_texts, text_embedding
from benchmarks.bench_extractors import naive_embed_text

REPO_ROOT = Path(__file__).resolve().parents[2]
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
# Stored vectors depend on this exact scheme: changing it needs a re-embed.
GOLDEN_NONZERO = [0, 1, 2, 7]
GOLDEN_VALUES = [-0.821995, 0.328798, -0.328798, 0.328798]


@contextmanager
def block_size(size: int):
    """Temporarily cut the byte stream into much smaller blocks."""
    old = text_embedding.BLOCK_BYTES
    text_embedding.BLOCK_BYTES = size
    try:
        yield
    finally:
        text_embedding.BLOCK_BYTES = old


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_shape_dtype_and_norm():
    vector = embed_text("The quick brown fox jumps over the lazy dog")
    assert vector.shape == (384,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-6)
    assert embed_texts([], 16).shape == (0, 16)
    assert embed_texts(["a b", "c"], 5).shape == (2, 5)


def test_text_without_features_is_all_zero():
    for empty in ("", "   ", "!?.,;", "\n\t"):
        assert not embed_text(empty).any()


def test_same_text_same_vector_across_processes():
    # Python's hash() is salted per process; a different seed must not matter.
    code = "from app.extractors import embed_text; print(embed_text('stable vectors please', 32).tobytes().hex())"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT)},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {embed_text("stable vectors please", 32).tobytes().hex()}


def test_golden_vector_pins_the_hashing_scheme():
    vector = embed_text("hello world", 8)
    assert np.flatnonzero(vector).tolist() == GOLDEN_NONZERO
    assert np.allclose(vector[GOLDEN_NONZERO], GOLDEN_VALUES, atol=1e-6)


def test_similar_texts_score_higher_than_unrelated():
    query = embed_text("How do I reset my account password?")
    related = embed_text("To reset the password of your account, open settings and choose reset password.")
    unrelated = embed_text("The volcano erupted last spring, covering nearby villages in ash.")
    assert cosine(query, related) > cosine(query, unrelated) + 0.2


def test_case_punctuation_and_spacing_do_not_matter():
    assert np.array_equal(embed_text("Hello, World!"), embed_text("hello   world"))
    assert np.array_equal(embed_text("ÉCOLE"), embed_text("école"))


def test_word_order_matters_less_than_words():
    a = embed_text("red apples and green pears")
    b = embed_text("green pears and red apples")
    c = embed_text("blue cars and yellow trucks")
    assert cosine(a, b) > 0.8 > cosine(a, c)


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=8))
def test_batch_rows_equal_single_embeddings(batch):
    rows = embed_texts(batch, 64)
    assert rows.shape == (len(batch), 64)
    for text, row in zip(batch, rows):
        assert np.array_equal(row, embed_text(text, 64))


@settings(max_examples=150, deadline=None)
@given(texts)
def test_vectorised_equals_naive_per_token_reference(text):
    assert np.allclose(embed_text(text, 48), naive_embed_text(text, 48), atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=6), st.integers(min_value=3, max_value=40))
def test_block_boundaries_do_not_change_vectors(batch, block):
    expected = embed_texts(batch, 32)
    with block_size(block):
        assert np.array_equal(embed_texts(batch, 32), expected)


def test_large_text_spanning_many_blocks_matches_naive(monkeypatch):
    monkeypatch.setattr(text_embedding, "BLOCK_BYTES", 4096)
    words = " ".join(f"word{i % 97} Ünïcode{i % 13}, x" for i in range(5000))
    assert np.allclose(embed_text(words, 96), naive_embed_text(words, 96), atol=1e-6)
    chunks = [words[i : i + 700] for i in range(0, len(words), 700)]
    rows = embed_texts(chunks, 96)
    for index in (0, 7, len(chunks) - 1):
        assert np.array_equal(rows[index], embed_text(chunks[index], 96))


def test_word_longer_than_power_tables(monkeypatch):
    # A block longer than the cached power tables (one huge token) builds its own.
    monkeypatch.setattr(text_embedding, "_TABLE_SIZE", 64)
    token = "z" * 500 + " tail"
    assert np.allclose(embed_text(token, 16), naive_embed_text(token, 16), atol=1e-6)


def test_huge_dimension_count_uses_wide_buckets():
    text = "many dimensions are fine"
    assert np.allclose(embed_text(text, 70000), naive_embed_text(text, 70000), atol=1e-6)


def test_rejects_non_positive_dimensions():
    with pytest.raises(ValueError):
        embed_texts(["x"], 0)
