"""Plain value types shared by every extractor, plus the stage timer.

Nothing here imports Flask, Celery or the database: extraction is a pure
function of a file's bytes, so workers and tests can call it directly.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Chunk:
    """One embedded piece of a file."""

    index: int
    # Kept out of repr (384 floats in every log line) and of ==, which an
    # ndarray field would turn into an "ambiguous truth value" error.
    vector: np.ndarray = field(repr=False, compare=False)
    text: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class StageRecord:
    """Timing and outcome of one pipeline stage."""

    name: str
    duration_ms: float
    outcome: str


@dataclass(frozen=True)
class Extraction:
    """Result of extracting one file."""

    media_type: str
    modality: str
    chunks: list[Chunk]
    dimensions: int
    stages: list[StageRecord] = field(default_factory=list)


class ExtractionError(Exception):
    """A file could not be turned into vectors."""

    error_type = "processing_error"
    # Filled in by the registry once sniffing has run, so callers can report it.
    media_type: str | None = None

    def __init__(self, message: str, stages: list[StageRecord] | None = None):
        super().__init__(message)
        self.message = message
        self.stages: list[StageRecord] = list(stages or [])


class FormatError(ExtractionError):
    """No extractor handles this kind of content."""

    error_type = "format_error"


class CorruptedFileError(ExtractionError):
    """Content of a supported kind that does not decode."""

    error_type = "corrupted_file"


class BudgetExceeded(FormatError):
    """A file over a per-item budget: not broken, but not one we process (retrying cannot help)."""

    def __init__(self, what: str, setting: str, limit: int, actual: int | None = None):
        found = f"{actual:,}" if actual is not None else f"more than {limit:,}"
        super().__init__(f"too large: {what} {found}; the limit is {limit:,} ({setting})")
        self.setting, self.limit, self.actual = setting, limit, actual


@dataclass(frozen=True)
class Budget:
    """What one file may cost: extracted characters, chunks, decoded image pixels."""

    max_chars: int
    max_chunks: int
    max_pixels: int

    @classmethod
    def from_settings(cls, settings=None) -> "Budget":
        """The budget of MAX_ITEM_CHARS, MAX_ITEM_CHUNKS and MAX_IMAGE_PIXELS (the installed settings by default)."""
        from app.settings import get_settings

        settings = settings or get_settings()
        return cls(settings.MAX_ITEM_CHARS, settings.MAX_ITEM_CHUNKS, settings.MAX_IMAGE_PIXELS)

    def check_chars(self, count: int) -> None:
        """Refuse text longer than max_chars."""
        if count > self.max_chars:
            raise BudgetExceeded("extracted text characters", "MAX_ITEM_CHARS", self.max_chars, count)

    def check_chunks(self, count: int) -> None:
        """Refuse more chunks than max_chunks."""
        if count > self.max_chunks:
            raise BudgetExceeded("chunks", "MAX_ITEM_CHUNKS", self.max_chunks, count)

    def check_pixels(self, width: int, height: int) -> None:
        """Refuse an image that would decode to more than max_pixels."""
        if width * height > self.max_pixels:
            raise BudgetExceeded(f"image pixels ({width}x{height})", "MAX_IMAGE_PIXELS", self.max_pixels,
                                 width * height)


def _default_budget() -> Budget:
    """The budget of the settings' defaults, for callers that pass none."""
    from app.settings import Settings

    return Budget.from_settings(Settings())


DEFAULT_BUDGET = _default_budget()


@dataclass(frozen=True)
class Pipeline:
    """The three stages one media kind runs; the registry times them."""

    modality: str
    decode: Callable[[bytes, str, Budget], Any]
    chunk: Callable[[Any], list]
    embed: Callable[[list, int], list[Chunk]]


class StageTimer:
    """Records each stage's duration and outcome as the pipeline runs."""

    def __init__(self) -> None:
        self.records: list[StageRecord] = []

    @contextmanager
    def stage(self, name: str, wrap: type[ExtractionError] = ExtractionError) -> Iterator[None]:
        """Time one stage; failures become ExtractionErrors carrying every record so far."""
        start = time.perf_counter()
        try:
            yield
        except ExtractionError as exc:
            self._record(name, start, "error")
            exc.stages = list(self.records)
            raise
        except MemoryError:
            # Running out of memory says nothing about the file; let the worker see it.
            raise
        except Exception as exc:
            self._record(name, start, "error")
            raise wrap(f"{name} failed: {type(exc).__name__}: {exc}", self.records) from exc
        self._record(name, start, "ok")

    def _record(self, name: str, start: float, outcome: str) -> None:
        elapsed = (time.perf_counter() - start) * 1000.0
        self.records.append(StageRecord(name, elapsed, outcome))
