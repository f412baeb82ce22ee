"""Search through the API over vectors a real worker stored, on SQLite and PostgreSQL: modes, modalities,
search by example, and the full-text index written in the vectors' own transaction."""
import io

import pytest
from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import text

from app.db import session_scope
from app.models import Vector
from app.collections.lexical import lexical_candidates
from tests.fixture_files import make_wav
from tests.integration.test_media_search import run, upload

DOCS = {
    "lighthouse.txt": "The lighthouse keeper trimmed the wick at dusk. Fog rolled over the granite headland "
                      "while the foghorn sounded every thirty seconds.",
    "sourdough.txt": "A sourdough starter is flour and water fermented by wild yeast. Feed it daily and bake "
                     "when it doubles within six hours.",
    "glaciers.md": "# Glaciers\n\nGlaciers carve deep U-shaped valleys between the highest peaks. Moraines mark "
                   "where the ice once stopped.",
    "orchard.txt": "Apple trees in the orchard need pruning in late winter, before the buds swell.",
    "tides.txt": "Spring tides follow the full and new moon, when the sun and moon pull together.",
}


def scene(variant: int, size=(640, 480)) -> Image.Image:
    """A photo-like picture: a sky-to-ground gradient, shapes of the variant's colours, grain, softened."""
    palette = [((30, 80, 200), (240, 200, 40)), ((20, 140, 60), (200, 30, 30)), ((120, 120, 120), (250, 250, 250)),
               ((200, 90, 20), (10, 10, 80)), ((90, 30, 140), (60, 220, 200)), ((240, 240, 200), (30, 30, 30))]
    top, accent = palette[variant]
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(size[1]):
        mix = y / size[1]
        draw.line([(0, y), (size[0], y)], fill=tuple(int(t * (1 - mix) + a * mix * 0.5) for t, a in zip(top, accent)))
    for i in range(3 + variant):
        x, y = (97 * (i + 1) * (variant + 2)) % size[0], (53 * (i + 3) * (variant + 1)) % size[1]
        shape = draw.ellipse if (i + variant) % 2 else draw.rectangle
        shape([x, y, x + 60 + 20 * i, y + 40 + 15 * variant], fill=accent)
    noise = Image.effect_noise(size, 24).convert("RGB")
    return Image.blend(image, noise, 0.12).filter(ImageFilter.GaussianBlur(1))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """The image as JPEG bytes."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def search(client, collection="modes", **body):
    """POST a JSON search; returns (status, body)."""
    response = client.post(f"/v1/collections/{collection}/search", json=body)
    return response.status_code, response.get_json()


def search_file(client, data: bytes, name: str, collection="modes", **fields):
    """POST a search by example; returns (status, body)."""
    response = client.post(f"/v1/collections/{collection}/search", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), name), **fields})
    return response.status_code, response.get_json()


@pytest.fixture(scope="module")
def landed(stack):
    """Text documents, six JPEG photos and three WAV tones, stored by the worker in one batch."""
    files = {name: body.encode() for name, body in DOCS.items()}
    files.update({f"photo-{v}.jpg": jpeg(scene(v)) for v in range(6)})
    files.update({f"tone-{f}.wav": make_wav(freq=f, seconds=1.0) for f in (220.0, 660.0, 1760.0)})
    ids = upload(stack["client"], files)
    final, _ = run(stack["client"], ids.values(), collection_id="modes")
    assert final["status"] == "COMPLETED", final
    return ids


def test_hybrid_is_the_default_and_an_exact_sentence_ranks_its_document_first(stack, landed):
    status, body = search(stack["client"], query="Moraines mark where the ice once stopped.")
    assert status == 200 and body["mode"] == "hybrid"
    top = body["hits"][0]
    assert (top["object_id"], top["modality"], top["page"]) == (landed["glaciers.md"], "text", None)
    assert "Moraines" in top["text"] and top["score"] > 0.75 and body["hits"][1]["score"] < 0.5


def test_each_mode_says_what_ran_and_scores_mean_what_the_readme_says(stack, landed):
    client = stack["client"]
    for mode in ("hybrid", "lexical", "vector"):
        status, body = search(client, query="wild yeast starter", mode=mode, top_k=3)
        assert status == 200 and body["mode"] == mode
        assert body["hits"][0]["object_id"] == landed["sourdough.txt"], (mode, body)
        scores = [h["score"] for h in body["hits"]]
        assert scores == sorted(scores, reverse=True)
        bounds = {"hybrid": (0, 1), "vector": (-1, 1), "lexical": (0, float("inf"))}[mode]
        assert all(bounds[0] < s <= bounds[1] for s in scores), (mode, scores)
    # Lexical: only chunks holding a query word; none for a query of stop words.
    _, lexical = search(client, query="foghorn", mode="lexical")
    assert [h["object_id"] for h in lexical["hits"]] == [landed["lighthouse.txt"]]
    assert search(client, query="the and of", mode="lexical")[1]["hits"] == []


def test_a_query_of_one_stop_word_never_looks_like_a_strong_match(stack, landed):
    client = stack["client"]
    _, weak = search(client, query="a")
    _, strong = search(client, query="Apple trees in the orchard need pruning in late winter")
    assert strong["hits"][0]["object_id"] == landed["orchard.txt"] and strong["hits"][0]["score"] > 0.75
    # A stop word has no full-text or phrase evidence: only the cosine half of the vector share is left.
    assert weak["hits"] and max(h["score"] for h in weak["hits"]) <= 0.25


def test_text_queries_answer_from_text_unless_modalities_ask_for_more(stack, landed):
    client = stack["client"]
    for mode in ("hybrid", "vector"):
        _, body = search(client, query="blue sky with a yellow square", mode=mode, top_k=20)
        assert body["hits"] and {h["modality"] for h in body["hits"]} == {"text"}, mode
    _, images = search(client, query="blue sky with a yellow square", mode="vector", modalities=["image"], top_k=20)
    assert len(images["hits"]) == 6 and {h["modality"] for h in images["hits"]} == {"image"}
    assert all(h["text"] is None and h["page"] is None for h in images["hits"])
    _, both = search(client, query="tone", mode="vector", modalities=["image", "audio"], top_k=20)
    assert {h["modality"] for h in both["hits"]} == {"image", "audio"} and len(both["hits"]) == 9


def test_a_resized_recompressed_photo_finds_its_original(stack, landed):
    client = stack["client"]
    for variant in range(6):
        copy = jpeg(scene(variant).resize((320, 240), Image.LANCZOS), quality=55)
        status, body = search_file(client, copy, "copy.jpg", top_k=3)
        assert status == 200 and body["mode"] == "vector", body
        assert body["hits"][0]["object_id"] == landed[f"photo-{variant}.jpg"], (variant, body["hits"])
        assert {h["modality"] for h in body["hits"]} == {"image"}


def test_a_wav_example_finds_the_same_tone_among_audio_only(stack, landed):
    client = stack["client"]
    for freq in (220.0, 660.0, 1760.0):
        example = make_wav(freq=freq, seconds=0.5, bits=8, rate=22050)  # another encoding of the same tone
        status, body = search_file(client, example, "tone.wav", top_k="5")
        assert status == 200 and body["hits"][0]["object_id"] == landed[f"tone-{freq}.wav"], (freq, body)
        assert {h["modality"] for h in body["hits"]} == {"audio"} and len(body["hits"]) == 3


def test_bad_examples_are_clear_422s(stack, landed):
    client = stack["client"]
    status, body = search_file(client, b"just some words", "note.txt")
    assert status == 422 and body["error"]["type"] == "validation_error" and "image or a WAV" in body["error"]["message"]
    status, body = search_file(client, b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "broken.png")
    assert status == 422 and body["error"]["details"]["fields"]["file"]
    status, body = search_file(client, jpeg(scene(0)), "x.jpg", top_k="0")
    assert status == 422 and "top_k" in body["error"]["details"]["fields"]
    response = client.post("/v1/collections/modes/search", content_type="multipart/form-data",
                           data={"file": [(io.BytesIO(jpeg(scene(0))), "a.jpg"), (io.BytesIO(jpeg(scene(1))), "b.jpg")]})
    assert response.status_code == 422 and response.get_json()["error"]["type"] == "validation_error"
    status, body = search_file(client, jpeg(scene(0)), "x.jpg", collection="no-such-collection")
    assert status == 404 and body["error"]["type"] == "not_found"


def test_the_lexical_index_commits_and_rolls_back_with_the_vectors(stack, landed):
    row = {"namespace": "default", "collection_id": "modes", "sha256": "f" * 64, "object_id": "obj_rolled_back",
           "batch_id": "bat_x", "filename": "x.txt", "chunk_index": 0, "page": None, "modality": "text",
           "text": "zanzibarian quokkas", "dimensions": 384, "embedding": b"\0" * 384 * 4}
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            session.execute(Vector.__table__.insert(), [row])
            assert lexical_candidates(session, "default", "modes", "quokkas", 5)  # visible inside the transaction
            raise RuntimeError("the write fails after the vectors were inserted")
    with session_scope() as session:
        assert lexical_candidates(session, "default", "modes", "quokkas", 5) == []
        session.execute(Vector.__table__.insert(), [row])
    with session_scope() as session:
        assert len(lexical_candidates(session, "default", "modes", "quokkas", 5)) == 1
        session.execute(Vector.__table__.delete().where(Vector.object_id == "obj_rolled_back"))
    with session_scope() as session:
        assert lexical_candidates(session, "default", "modes", "quokkas", 5) == []
        if session.get_bind().dialect.name == "sqlite":  # FTS5's own integrity check against its content table
            session.execute(text("INSERT INTO vectors_fts(vectors_fts, rank) VALUES ('integrity-check', 1)"))
