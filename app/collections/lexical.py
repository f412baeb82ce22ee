"""Lexical candidates: full-text ranking of a collection's text chunks by the database's own index."""
import re

from sqlalchemy import text

from app.models.lexical_index import FTS_TABLE, TS_CONFIG

MAX_TERMS = 32
_WORD = re.compile(r"\w+")
# PostgreSQL's `english` configuration drops these; SQLite drops the same ones here, so a query of only
# stop words ("a", "the") has no lexical evidence on either database.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now
of off on once only or other our ours ourselves out over own s same she should so some such t than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with you your yours yourself yourselves
""".split())


def query_terms(query: str) -> list[str]:
    """The query's distinct words, lower-cased, stop words dropped, at most MAX_TERMS."""
    terms = []
    for word in _WORD.findall(query.lower()):
        if word not in STOP_WORDS and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def _sqlite(session, namespace: str, collection_id: str, terms: list[str], limit: int) -> list[tuple[int, float]]:
    """FTS5 with bm25() over an OR of the terms (quoted: no term is read as query syntax)."""
    match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
    rows = session.execute(text(
        f"SELECT f.rowid, -bm25({FTS_TABLE}) AS score FROM {FTS_TABLE} AS f JOIN vectors AS v ON v.id = f.rowid "
        f"WHERE {FTS_TABLE} MATCH :match AND v.namespace = :namespace AND v.collection_id = :collection_id "
        f"ORDER BY bm25({FTS_TABLE}) LIMIT :limit"),
        {"match": match, "namespace": namespace, "collection_id": collection_id, "limit": limit}).all()
    return [(int(row_id), float(score)) for row_id, score in rows]


def _postgresql(session, namespace: str, collection_id: str, terms: list[str], limit: int) -> list[tuple[int, float]]:
    """tsvector @@ an OR of the terms' lexemes over the GIN index, ranked by ts_rank (length-normalised)."""
    rows = session.execute(text(
        "SELECT v.id, ts_rank(v.lexemes, q.query, 1) AS score FROM vectors AS v, "
        f"(SELECT replace(plainto_tsquery('{TS_CONFIG}', :words)::text, '&', '|')::tsquery AS query) AS q "
        "WHERE v.namespace = :namespace AND v.collection_id = :collection_id AND v.lexemes @@ q.query "
        "ORDER BY score DESC, v.id LIMIT :limit"),
        {"words": " ".join(terms), "namespace": namespace, "collection_id": collection_id, "limit": limit}).all()
    return [(int(row_id), float(score)) for row_id, score in rows]


def lexical_candidates(session, namespace: str, collection_id: str, query: str,
                       limit: int) -> list[tuple[int, float]]:
    """(vector id, relevance) of the best-matching text chunks, best first; none for a query of stop words."""
    terms = query_terms(query)
    if not terms:
        return []
    rank = _postgresql if session.get_bind().dialect.name == "postgresql" else _sqlite
    return rank(session, namespace, collection_id, terms, limit)
