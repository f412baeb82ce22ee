"""Hostile upload names never become paths, and the media type comes from the bytes, not the name."""
import io

import pytest

from app.settings import get_settings
from tests.helpers import assert_error, upload
from tests.fixture_files import make_png

HOSTILE = ["../../etc/passwd", "/etc/shadow", "..\\..\\boot.ini", "C:\\Windows\\win.ini", "a\x00b.txt",
           "x" * 5000 + ".txt", "", ".", "..", ".hidden", "dir/", "é" * 300]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_filenames_are_harmless(client, name):
    response = client.post("/v1/objects", data={"file": [(io.BytesIO(b"content"), name)]},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    shown = response.get_json()["objects"][0]["filename"]
    assert shown and len(shown) <= 255
    assert not any(ch in shown for ch in "/\\\x00\r\n") and shown not in (".", "..")
    root = get_settings().objects_dir.resolve()
    stored = [p for p in root.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].resolve().is_relative_to(root)
    assert len(stored[0].name) == 32 and all(c in "0123456789abcdef" for c in stored[0].name)


def test_a_filename_that_breaks_the_part_header_is_a_clear_422(client):
    response = client.post("/v1/objects", data={"file": [(io.BytesIO(b"x"), "line\r\nX-Injected: 1")]},
                           content_type="multipart/form-data")
    error = assert_error(response, 422, "validation_error")
    assert error["details"]["fields"] == {"file": ["Not a file upload."]}
    assert not get_settings().objects_dir.exists() or not any(get_settings().objects_dir.rglob("*"))


def test_inline_text_filename_is_sanitised_too(client):
    response = client.post("/v1/objects", json={"text": "words", "filename": "../../x/../evil.sh"})
    assert response.status_code == 201
    assert response.get_json()["objects"][0]["filename"] == "evil.sh"


def test_media_type_is_sniffed_from_content(client):
    objects = upload(client, {"report.pdf": b"plain words, not a PDF", "notes.txt": make_png()}).get_json()["objects"]
    assert [o["media_type"] for o in objects] == ["text/plain", "image/png"]
