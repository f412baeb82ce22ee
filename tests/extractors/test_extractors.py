"""extract(): every good fixture lands, every bad one fails with the right typed error and stages."""
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extractors import (
    CorruptedFileError,
    Extraction,
    ExtractionError,
    FormatError,
    extract,
    registry,
    sniff_media_type,
)
from app.extractors.base import Pipeline
from tests import fixture_files as ff

EXPECTED_CHUNKS = {"pdf": 3}  # every other good fixture is one chunk


def _assert_unit_vectors(extraction: Extraction, dimensions: int) -> None:
    for chunk in extraction.chunks:
        assert chunk.vector.dtype == np.float32
        assert chunk.vector.shape == (dimensions,)
        assert np.linalg.norm(chunk.vector) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("name", sorted(ff.ALL_GOOD))
def test_good_fixture_extracts(name):
    factory, media_type, modality = ff.ALL_GOOD[name]
    result = extract(factory())
    assert result.media_type == media_type
    assert result.modality == modality
    assert result.dimensions == 384
    assert len(result.chunks) == EXPECTED_CHUNKS.get(name, 1)
    assert [c.index for c in result.chunks] == list(range(len(result.chunks)))
    _assert_unit_vectors(result, 384)
    assert [(s.name, s.outcome) for s in result.stages] == [("decode", "ok"), ("chunk", "ok"), ("embed", "ok")]
    assert all(s.duration_ms >= 0 for s in result.stages)
    if modality == "text":
        assert all(c.text for c in result.chunks)
    else:
        assert all(c.text is None and c.page is None for c in result.chunks)


@pytest.mark.parametrize("name", sorted(ff.ALL_GOOD))
def test_sniffing_whole_file_and_upload_prefix_agree(name):
    factory, media_type, _ = ff.ALL_GOOD[name]
    data = factory()
    assert sniff_media_type(data) == media_type
    assert sniff_media_type(data[: 64 * 1024]) == media_type


@pytest.mark.parametrize("dimensions", [1, 7, 64, 1000])
@pytest.mark.parametrize("name", ["text", "pdf", "png", "jpeg", "wav"])
def test_other_dimension_counts(name, dimensions):
    result = extract(ff.ALL_GOOD[name][0](), dimensions=dimensions)
    assert result.dimensions == dimensions
    _assert_unit_vectors(result, dimensions)


@pytest.mark.parametrize("name", sorted(ff.ALL_BAD))
def test_bad_fixture_raises_typed_error_with_stages(name):
    factory, error_type = ff.ALL_BAD[name]
    expected_class = {"corrupted_file": CorruptedFileError, "format_error": FormatError}[error_type]
    with pytest.raises(expected_class) as caught:
        extract(factory())
    error = caught.value
    assert error.error_type == error_type
    assert [(s.name, s.outcome) for s in error.stages] == [("decode", "error")]
    assert error.media_type == sniff_media_type(factory())
    assert str(error)


def test_pdf_chunks_keep_page_numbers_and_text():
    result = extract(ff.make_pdf(ff.PDF_PAGES))
    assert [c.page for c in result.chunks] == [1, 2, 3]
    for chunk, page_text in zip(result.chunks, ff.PDF_PAGES):
        assert " ".join(chunk.text.split()) == page_text


def test_pdf_long_page_splits_and_blank_pages_are_skipped():
    sentence = "Glaciers carve deep valleys as they slowly move downhill over centuries. "
    result = extract(ff.make_pdf(["Short first page.", "", sentence * 40]))
    pages = [c.page for c in result.chunks]
    assert pages[0] == 1 and 2 not in pages
    assert pages.count(3) >= 3
    assert all(len(c.text) <= 1000 for c in result.chunks)
    assert all("Glaciers" in c.text for c in result.chunks if c.page == 3)


def test_pdf_without_text_succeeds_with_zero_chunks():
    result = extract(ff.make_pdf(["", "   "]))
    assert result.media_type == "application/pdf"
    assert result.chunks == []
    assert [s.outcome for s in result.stages] == ["ok", "ok", "ok"]


@pytest.mark.parametrize("data", [b"", b"   \n\t\n"])
def test_empty_or_blank_file_succeeds_with_zero_chunks(data):
    result = extract(data)
    assert (result.media_type, result.modality, result.chunks) == ("text/plain", "text", [])


def test_wav_with_no_frames_succeeds_with_zero_chunks():
    result = extract(ff.make_wav(seconds=0))
    assert result.media_type == "audio/wav"
    assert result.chunks == []


def test_wav_shorter_than_one_window_still_embeds():
    result = extract(ff.make_wav(rate=16000, seconds=0.005))
    assert len(result.chunks) == 1
    _assert_unit_vectors(result, 384)


def test_extensible_pcm_wav_is_accepted_but_extensible_float_is_not():
    pcm = ff.make_wav_extensible(sub_format=1)
    assert len(extract(pcm).chunks) == 1
    with pytest.raises(FormatError):
        extract(ff.make_wav_extensible(sub_format=3))


def test_wav_with_absurd_sample_rate_is_corrupted_not_a_memory_blowup():
    data = bytearray(ff.make_wav(seconds=0.1))
    struct.pack_into("<I", data, 24, 0x7FFFFFFF)  # the fmt chunk's sample rate
    with pytest.raises(CorruptedFileError, match="invalid"):
        extract(bytes(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(ff.ALL_GOOD)),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    st.floats(0.05, 1.0),
)
def test_mangled_files_succeed_or_raise_typed_errors(name, flips, keep):
    data = bytearray(ff.ALL_GOOD[name][0]())
    for where, value in flips:
        data[int(where * len(data))] = value
    try:
        result = extract(bytes(data[: max(1, int(keep * len(data)))]))
    except ExtractionError as error:
        assert error.error_type in {"format_error", "corrupted_file"}
        assert error.stages and error.stages[-1].outcome == "error"
    else:
        for chunk in result.chunks:
            assert chunk.vector.shape == (384,)
            # All-zero only for text without a single word character ("----");
            # the embedding counts every non-ASCII character as one.
            featureless = chunk.text is not None and not any(c.isalnum() or ord(c) > 127 for c in chunk.text)
            expected = 0.0 if featureless else 1.0
            assert np.linalg.norm(chunk.vector) == pytest.approx(expected, abs=1e-5)


def test_html_keeps_only_visible_text():
    (chunk,) = extract(ff.make_html()).chunks
    assert "Mountain weather" in chunk.text
    assert "Carry a jacket & check the forecast." in chunk.text
    for hidden in ("Hidden title", "secret", "color: red"):
        assert hidden not in chunk.text


def test_json_is_flattened_to_path_value_lines():
    (chunk,) = extract(ff.make_json()).chunks
    assert chunk.text.splitlines() == [
        "title: Inventory",
        "items[0].name: hammer",
        "items[0].qty: 3",
        "items[1].name: saw",
        "items[1].qty: 1",
    ]


def test_utf16_and_bom_text_decode_to_real_characters():
    assert extract(ff.make_text_utf16()).chunks[0].text.startswith("Grüße aus München")
    assert extract(ff.make_text_utf8_bom()).chunks[0].text.startswith("Café crème")


def test_large_document_is_chunked_within_limits():
    paragraph = "Rivers shape the land. They carry sediment to the sea and build deltas over time. "
    result = extract(("\n\n".join([paragraph * 5] * 60)).encode())
    assert len(result.chunks) > 20
    assert all(len(c.text) <= 1000 for c in result.chunks)
    _assert_unit_vectors(result, 384)


def test_extraction_is_deterministic():
    for name in ("text", "pdf", "png", "jpeg", "wav"):
        data = ff.ALL_GOOD[name][0]()
        first, second = extract(data), extract(data)
        for a, b in zip(first.chunks, second.chunks):
            assert np.array_equal(a.vector, b.vector)


def test_similar_images_score_higher_than_different_ones():
    vec = lambda data: extract(data).chunks[0].vector  # noqa: E731
    base, similar, different = vec(ff.make_png(variant=0)), vec(ff.make_png(variant=1)), vec(ff.make_png(variant=2))
    assert base @ similar > base @ different + 0.2
    # The same pixels through lossy JPEG stay close to the PNG.
    assert base @ vec(ff.make_jpeg(variant=0)) > base @ different


def test_similar_sounds_score_higher_than_different_ones():
    vec = lambda data: extract(data).chunks[0].vector  # noqa: E731
    a4 = vec(ff.make_wav(freq=440))
    near = vec(ff.make_wav(freq=450, rate=44100, bits=24))
    far = vec(ff.make_wav(freq=3000))
    assert a4 @ near > a4 @ far + 0.2


def test_image_over_pixel_limit_is_format_error_without_decoding():
    with pytest.raises(FormatError, match="too large"):
        extract(ff.make_png_header_only(9000, 9000))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_past_pillow_limit_is_format_error():
    with pytest.raises(FormatError):
        extract(ff.make_png_header_only(20000, 20000))


def test_unexpected_decoder_exception_is_wrapped_as_corrupted(monkeypatch):
    def explode(data, media_type):
        raise KeyError("deep inside a decoder")

    monkeypatch.setitem(registry.PIPELINES, "text/plain", Pipeline("text", explode, list, list))
    with pytest.raises(CorruptedFileError) as caught:
        extract(b"plain words")
    assert [(s.name, s.outcome) for s in caught.value.stages] == [("decode", "error")]
    assert caught.value.media_type == "text/plain"


def test_failure_in_embed_is_processing_error_with_all_stages(monkeypatch):
    original = registry.PIPELINES["text/plain"]

    def broken_embed(pieces, dimensions):
        raise RuntimeError("vector store exploded")

    monkeypatch.setitem(
        registry.PIPELINES, "text/plain", Pipeline("text", original.decode, original.chunk, broken_embed)
    )
    with pytest.raises(ExtractionError) as caught:
        extract(b"plain words")
    error = caught.value
    assert type(error) is ExtractionError and error.error_type == "processing_error"
    assert [(s.name, s.outcome) for s in error.stages] == [("decode", "ok"), ("chunk", "ok"), ("embed", "error")]


@pytest.mark.parametrize("dimensions", [0, -3, 2.5, True])
def test_invalid_dimensions_are_rejected(dimensions):
    with pytest.raises(ValueError):
        extract(ff.make_text(), dimensions=dimensions)


def test_error_types_are_distinct_subclasses():
    assert issubclass(FormatError, ExtractionError) and issubclass(CorruptedFileError, ExtractionError)
    assert {ExtractionError.error_type, FormatError.error_type, CorruptedFileError.error_type} == {
        "processing_error",
        "format_error",
        "corrupted_file",
    }
    assert ExtractionError("x").stages == []
