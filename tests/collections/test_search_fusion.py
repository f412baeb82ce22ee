"""Hybrid scoring parts and query terms: pure functions, no database."""
import random

from app.collections.fusion import _WORD, _words, fuse, phrase_overlap
from app.collections.lexical import query_terms


def test_query_terms_fold_like_the_index_and_drop_stop_words():
    assert query_terms("The Café of snake_case AND the ÉCOLE, école!") == ["cafe", "snake", "case", "ecole"]
    assert query_terms("a the of") == []


def test_phrase_overlap_counts_adjacent_word_pairs_or_single_words():
    texts = {1: "Glaciers carve deep valleys.", 2: "Deep valleys, glaciers carve.", 3: None}
    overlap = phrase_overlap("glaciers carve deep valleys", texts)
    assert overlap == {1: 1.0, 2: 2 / 3}
    assert phrase_overlap("valleys", texts) == {1: 1.0, 2: 1.0}
    assert phrase_overlap("a", {1: "a b c"}) == {} and phrase_overlap("of the", {1: "of the sea"}) == {}


def test_fused_scores_are_bounded_and_need_agreement_to_pass_one_half():
    ranked = fuse({1: 12.0, 2: 3.0}, {1: 0.8, 2: 0.1, 3: 0.95}, {1: 1.0, 2: 0.0, 3: 0.0})
    assert [row_id for row_id, _ in ranked] == [1, 3, 2]
    scores = dict(ranked)
    assert scores[1] == (0.5 + 0.4 + 1.0) / 2 and scores[3] == 0.5 * 0.95 / 2 and 0 <= scores[2] < 0.5
    assert fuse({}, {7: -0.3}, {}) == [(7, 0.0)]


def test_ascii_word_split_matches_the_unicode_pattern():
    rng = random.Random(7)
    texts = ["Hello_World foo-bar BAZ9 a1b2", "", "  tabs\tand\nnew lines__x", "Ünïcode café naïve",
             "".join(chr(rng.randrange(128)) for _ in range(5000))]
    for text in texts:
        assert _words(text) == _WORD.findall(text.lower())
