"""The search matrix cache and cached collection counts: served only for the current index signature."""
import json

import fakeredis
import pytest

from tasks.maintenance import sweep_search_cache
from tests.overrides import with_overrides
from app.db import session_scope
from app.extractors import embed_texts
from app.models import Vector
from app.redis_client import get_redis, key, use_redis
from app.collections import catalog, search, search_cache
from app.collections.catalog import ensure_collection


@pytest.fixture(autouse=True)
def empty_cache(app):
    """Every test starts with this process's matrix cache empty."""
    search_cache.matrices.clear()
    yield
    search_cache.matrices.clear()


def write(collection_id, texts, namespace="default", prefix="doc"):
    """Store one single-chunk text document per text, bumping the signature as the worker does."""
    vectors = embed_texts(texts, 384)
    with session_scope() as session:
        ensure_collection(session, namespace, collection_id)
        catalog.record_vector_write(session, namespace, collection_id)
        session.add_all(Vector(
            namespace=namespace, collection_id=collection_id, sha256=f"{prefix}-{i}-{collection_id}",
            object_id=f"obj_{prefix}{i}", batch_id="bat_x", filename=f"{prefix}{i}.txt", chunk_index=0,
            modality="text", text=text, dimensions=384, embedding=vectors[i].astype("<f4").tobytes(),
        ) for i, text in enumerate(texts))


def signature(collection_id="docs"):
    """The collection's current index signature."""
    return catalog.get_collection("default", collection_id)["index_signature"]


def test_matrix_is_reused_until_a_write_changes_the_signature():
    write("docs", ["red apples in autumn", "blue whales in the ocean"])
    first = search.search("default", "docs", "whales", 1)["hits"]
    assert first[0]["object_id"] == "obj_doc1" and search_cache.matrices.builds == 1
    search.search("default", "docs", "apples", 1)
    assert search_cache.matrices.builds == 1  # same signature: the cached matrix answered
    before = signature()
    write("docs", ["green parrots of the rainforest"], prefix="new")
    assert signature() != before
    hits = search.search("default", "docs", "green parrots of the rainforest", 3)["hits"]
    assert hits[0]["object_id"] == "obj_new0" and len(hits) == 3  # the new document, never the stale matrix
    assert search_cache.matrices.builds == 2


def test_vector_mode_ranks_the_top_k_by_cosine_similarity():
    texts = [f"document {i} about topic {i}" for i in range(50)] + ["the quick brown fox jumps"]
    write("docs", texts)
    found = search.search("default", "docs", "quick brown fox", 5, mode="vector")
    hits = found["hits"]
    assert found["mode"] == "vector" and len(hits) == 5 and hits[0]["text"] == "the quick brown fox jumps"
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)
    assert len(search.search("default", "docs", "document", 100, mode="vector")["hits"]) == 51


def test_least_recently_used_matrices_go_beyond_the_limit():
    with_overrides(SEARCH_CACHE_MAX_COLLECTIONS=2)
    for name in ("a", "b", "c"):
        write(name, [f"text of {name}"])
    for name in ("a", "b", "a", "c"):
        search.search("default", name, "text", 1)
    assert len(search_cache.matrices) == 2
    builds = search_cache.matrices.builds
    search.search("default", "a", "text", 1)
    assert search_cache.matrices.builds == builds  # "a" was used more recently than "b"
    search.search("default", "b", "text", 1)
    assert search_cache.matrices.builds == builds + 1


def test_sweep_drops_stale_counts_and_a_search_evicts_idle_matrices():
    write("docs", ["one document"])
    write("other", ["another document"])
    search.search("default", "docs", "document", 1)
    catalog.list_collections("default")  # caches the counts of both
    write("docs", ["a second document"], prefix="more")  # "docs" counts are now of an old signature
    with_overrides(SEARCH_CACHE_TTL_SECONDS=3600)
    assert sweep_search_cache() == 1
    assert get_redis().get(key(catalog.STATS, "default", "docs")) is None
    assert json.loads(get_redis().get(key(catalog.STATS, "default", "other")))["documents"] == 1
    assert sweep_search_cache() == 0
    assert len(search_cache.matrices) == 1
    with_overrides(SEARCH_CACHE_TTL_SECONDS=0)
    search_cache.matrices.get(("default", "nothing"), "-")   # every lookup first drops idle matrices
    assert len(search_cache.matrices) == 0


def test_cached_counts_are_used_only_under_their_own_signature():
    write("docs", ["one", "two"])
    assert catalog.get_collection("default", "docs")["documents"] == 2
    name = key(catalog.STATS, "default", "docs")
    entry = json.loads(get_redis().get(name))
    get_redis().set(name, json.dumps({**entry, "documents": 99, "vectors": 99}))
    assert catalog.get_collection("default", "docs")["documents"] == 99  # served from the cache
    write("docs", ["three"], prefix="x")
    fresh = catalog.get_collection("default", "docs")
    assert (fresh["documents"], fresh["vectors"]) == (3, 3)


def test_counts_and_search_work_without_redis():
    write("docs", ["still searchable"])
    down = fakeredis.FakeServer()
    down.connected = False  # every command raises redis.ConnectionError
    use_redis(fakeredis.FakeRedis(server=down, decode_responses=True))
    described = catalog.get_collection("default", "docs")
    assert (described["documents"], described["vectors"]) == (1, 1)
    assert search.search("default", "docs", "searchable", 1)["hits"][0]["object_id"] == "obj_doc0"


def test_beat_runs_the_sweep_by_task_name():
    import celeryconfig
    import tasks

    entry = celeryconfig.beat_schedule["sweep-search-cache"]
    assert entry["task"] == "batchery.sweep_search_cache" and entry["task"] in tasks.celery_app.tasks
    assert entry["schedule"] > 0
