"""sniff_media_type: content only, magic numbers first, then text kinds by heuristics."""
import inspect
import json

import pytest

from app.extractors import CorruptedFileError, FormatError, extract, sniff_media_type
from tests import fixture_files as ff


def test_sniffing_takes_only_bytes():
    # No file name or client-declared type can influence the answer.
    assert list(inspect.signature(sniff_media_type).parameters) == ["data"]


@pytest.mark.parametrize(
    "data, media_type",
    [
        (b"report.pdf", "text/plain"),
        (b"  \n%PDF-1.7\n...", "application/pdf"),
        (b"Notes about the %PDF- header and PNG files.", "text/plain"),
        (b"MZ is the signature of DOS executables.", "text/plain"),
        (b"ID3 tags describe MP3 files.", "text/plain"),
        (b"GIF89a" + b"\x01\x00\x01\x00\x80\x00\x00", "image/gif"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"SQLite format 3\x00" + b"\x00" * 84, "application/vnd.sqlite3"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"OggS\x00\x02" + b"\x00" * 20, "audio/ogg"),
        ("hello".encode("utf-16-le"), "application/octet-stream"),
        (b"\x00\x01\x02\x03\x04\x05", "application/octet-stream"),
    ],
)
def test_magic_numbers_and_lookalikes(data, media_type):
    assert sniff_media_type(data) == media_type


@pytest.mark.parametrize(
    "text, media_type",
    [
        ("# Title\n\nJust a paragraph.", "text/markdown"),
        ("Intro line\n\n- one\n- two\n\nSee [docs](http://x.y/z).", "text/markdown"),
        ("Text\n\n```\ncode\n```\n", "text/markdown"),
        ("Just a list:\n- milk\n- eggs\n", "text/plain"),
        ("a\tb\tc\n1\t2\t3\n", "text/csv"),
        ("name;age\nana;31\nbo;42\n", "text/csv"),
        ("Hello, world.\nGoodbye, moon.\n", "text/plain"),
        ("It was late, dark, and cold.\nWe walked home, slowly.\nThe end.", "text/plain"),
        ('{"a": 1}\n{"a": 2}\n', "text/plain"),
        ("[1] Introduction to the topic", "text/plain"),
        ('[{"a": 1}, {"a": 2}]', "application/json"),
        ('{"cut": [1, 2, "thr', "application/json"),
        ("42", "text/plain"),
        ("<p>One</p><p>Two</p>", "text/html"),
        ("<html><body>Hi</body></html>", "text/html"),
        ('<?xml version="1.0"?><note>hi</note>', "text/plain"),
        ("数据 文本 中文 内容 很多 字符", "text/plain"),
    ],
)
def test_text_kinds(text, media_type):
    assert sniff_media_type(text.encode()) == media_type


def test_large_json_is_recognised_from_its_first_64_kib():
    data = json.dumps([{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(5000)]).encode()
    assert len(data) > 64 * 1024
    assert sniff_media_type(data) == sniff_media_type(data[: 64 * 1024]) == "application/json"
    assert len(extract(data).chunks) > 10


def test_truncated_json_is_corrupted():
    data = json.dumps({"items": list(range(100))}).encode()[:-20]
    assert sniff_media_type(data) == "application/json"
    with pytest.raises(CorruptedFileError):
        extract(data)


def test_prefix_cut_inside_a_multibyte_character_still_sniffs_as_text():
    data = ("# Überschrift\n\n" + "Grüße aus Köln. " * 8000).encode()
    cut = 64 * 1024
    while (data[cut - 1] & 0xC0) != 0xC0:  # land right after a UTF-8 lead byte
        cut -= 1
    assert sniff_media_type(data[:cut]) == "text/markdown"


def test_invalid_utf8_after_the_sniffed_prefix_is_corrupted():
    data = ("A perfectly normal line of text.\n" * 4000).encode() + b"\xff\xfe broken tail"
    assert sniff_media_type(data) == "text/plain"
    with pytest.raises(CorruptedFileError):
        extract(data)


def test_utf16_without_bom_is_binary():
    with pytest.raises(FormatError):
        extract("no byte order mark here".encode("utf-16-le"))


@pytest.mark.parametrize("name", sorted(ff.ALL_BAD))
def test_bad_fixtures_sniff_to_their_claimed_kind(name):
    factory, error_type = ff.ALL_BAD[name]
    media_type = sniff_media_type(factory())
    if error_type == "corrupted_file":
        # Corrupted means: a type we handle, whose content does not decode.
        assert media_type in {"application/pdf", "image/png", "image/jpeg", "audio/wav", "text/plain"}
    elif name != "float_wav":
        assert media_type not in {"application/pdf", "image/png", "image/jpeg", "audio/wav", "text/plain"}
