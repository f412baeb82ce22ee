"""The SDK and the `batchery` CLI against a real stack: the Procfile's web process, a real worker, real Redis.

One command ingests 2,500 mixed files (split across requests and batches by lowered limits), survives a
SIGKILL mid-upload, and its rerun duplicates nothing; then wait, export, search, cancel and retry.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from app.client import Client
from tests.fixture_files import make_broken_png, make_csv, make_html, make_png, make_wav
from app.embedded import free_port
from tests.integration.procfile import ProcfileProcess, wait_until_serving
from tests.integration.stack import ROOT, wait_for
from tests.schema import migrate

BROKEN = 5  # broken PNGs: deterministic failures, so the run ends COMPLETED_WITH_ERRORS


@pytest.fixture(scope="module")
def extra_settings():
    """Limits low enough that 2,500 files need many requests and several batches."""
    return {"MAX_MULTIPART_PARTS": "52", "MAX_BATCH_OBJECTS": "1000"}


@pytest.fixture(scope="module")
def server(stack):
    """The Procfile's web process (gunicorn, gevent), which the CLI talks to."""
    port = free_port()
    web = ProcfileProcess("web", {**stack["env"], "PORT": str(port), "WEB_CONCURRENCY": "1"},
                          stack["data_dir"] / "web.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(web, f"{url}/healthz")
        yield url
    finally:
        web.stop()


def _mixed_file(n: int) -> tuple[str, bytes]:
    """File n of the corpus: mostly texts of several kinds, some images and sounds, all distinct."""
    kind = n % 10
    if kind == 7:
        return f"images/img-{n:05d}.png", make_png(8 + n % 24, 8 + n // 24 % 24, variant=n % 2)
    if kind == 8:
        return f"audio/tone-{n:05d}.wav", make_wav(rate=8000, seconds=0.05, freq=200.0 + n)
    if kind == 9:
        return f"pages/page-{n:05d}.html", make_html().replace(b"</body>", f"<p>page {n}</p></body>".encode())
    if kind == 6:
        return f"tables/t-{n:05d}.csv", make_csv() + f"{n},row {n}\n".encode()
    return f"notes/note-{n:05d}.txt", f"Note {n}: the quarterly report of team {n % 13} mentions item {n}.\n".encode()


def make_corpus(folder: Path, count: int, duplicates: int = 0) -> int:
    """`count` distinct files (BROKEN of them broken PNGs) plus `duplicates` copies; returns the distinct count."""
    for n in range(count):
        name, content = _mixed_file(n) if n >= BROKEN else (f"broken/b-{n}.png", make_broken_png() + bytes([n]))
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    (folder / "notes" / "needle.txt").write_bytes(b"The zebra migration across the Serengeti plains.\n")
    for n in range(duplicates):
        (folder / "copies").mkdir(exist_ok=True)
        (folder / "copies" / f"copy-{n}.txt").write_bytes((folder / _mixed_file(BROKEN + 10 * n)[0]).read_bytes())
    return count + 1


def cli(*args, url, cwd, **popen):
    """`batchery …` as a user runs it (a real process), with the URL from the environment."""
    env = {**os.environ, "BATCHERY_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=cwd, env=env, start_new_session=True,
                            **popen)


def _recorded_objects(state: Path) -> int:
    try:
        return len(json.loads(state.read_text())["objects"])
    except (FileNotFoundError, ValueError):
        return 0


@pytest.mark.timeout(1500)
def test_ingest_of_2500_files_splits_survives_sigkill_and_duplicates_nothing(stack, server, tmp_path):
    folder = tmp_path / "corpus"
    distinct = make_corpus(folder, 2_500, duplicates=20)
    state = folder / ".batchery-ingest-big.json"
    command = ["ingest", str(folder), "--collection", "big", "--concurrency", "2", "--files-per-request", "25"]
    log = (tmp_path / "first.log").open("wb")
    first = cli(*command, url=server, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    wait_for(lambda: first.poll() is not None or _recorded_objects(state) >= 300, 240, interval=0.01,
             message="the first run to upload 300 objects")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    landed = _recorded_objects(state)
    assert 300 <= landed < distinct, f"the kill was not mid-upload ({landed} of {distinct} landed)"

    rerun = cli(*command, "--wait", "--jsonl", str(tmp_path / "results.jsonl"), "--poll", "0.5", url=server,
                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = rerun.communicate(timeout=900)[0].decode()
    assert rerun.returncode == 1, output  # finished, but the broken PNGs failed
    assert "Ingest summary" in output and output.count("COMPLETED_WITH_ERRORS") == 1, output  # the broken PNGs' batch

    client = Client(server)
    saved = json.loads(state.read_text())
    batch_ids = list(saved["batches"].values())
    assert len(batch_ids) == 3, "2,501 objects under MAX_BATCH_OBJECTS=1000 make three batches"
    assert sorted(b["batch_id"] for b in client.batches.list(collection_id="big")) == sorted(batch_ids)
    objects = list(client.objects.list())
    assert len(objects) == distinct == len({o["sha256"] for o in objects}), "an object was uploaded twice"
    batches = [client.batches.get(b) for b in batch_ids]
    assert sum(b["progress"]["total"] for b in batches) == distinct
    assert sum(b["progress"]["failed"] for b in batches) == BROKEN
    assert sum(b["progress"]["succeeded"] + b["progress"]["skipped"] for b in batches) == distinct - BROKEN
    assert {b["status"] for b in batches} <= {"COMPLETED", "COMPLETED_WITH_ERRORS"}
    lines = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(lines) == distinct and len({row["object_id"] for row in lines}) == distinct
    assert sum(row["status"] == "FAILED" for row in lines) == BROKEN
    assert f"{landed:,}" in output.split("uploaded by an earlier run")[1].splitlines()[0]

    again = cli(*command, url=server, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = again.communicate(timeout=300)[0].decode()
    assert again.returncode == 1 and output.split("uploaded now")[1].split()[1] == "0", output
    assert len(list(client.objects.list())) == distinct and len(list(client.batches.list())) == 3

    found = cli("search", "big", "zebra migration Serengeti", "--json", url=server, cwd=tmp_path,
                stdout=subprocess.PIPE)
    hits = json.loads(found.communicate(timeout=120)[0])
    assert found.returncode == 0 and hits[0]["filename"].endswith("needle.txt")


def test_sdk_cancel_mid_run_tells_the_truth_and_retry_picks_what_can_succeed(stack, server, tmp_path):
    client = Client(server)
    folder = tmp_path / "to-cancel"
    distinct = make_corpus(folder, 600)
    report = client.ingest(folder, "cancel-me", files_per_request=100)
    assert report.uploaded == distinct and len(report.batch_ids) == 1
    batch_id = report.batch_ids[0]
    wait_for(lambda: client.batches.get(batch_id)["progress"]["processed"] >= 10, 300, interval=0.05,
             message="ten items processed")
    client.batches.cancel(batch_id)
    assert client.batches.wait(batch_id, poll_seconds=0.2, timeout=300)["status"] == "CANCELLED"

    def settled():
        # Files a pack held at the cancel finish and keep their results (README, Processes): wait for them.
        view = client.batches.get(batch_id)
        return view if view["progress"]["processed"] == view["progress"]["total"] else None
    final = wait_for(settled, 300, interval=0.2, message="the files in flight at the cancel to finish")
    p = final["progress"]
    worked = p["succeeded"] + p["skipped"] + p["failed"]
    assert final["status"] == "CANCELLED" and p["cancelled"] > 0 and worked + p["cancelled"] == p["total"] == distinct
    assert final["status_message"].startswith(
        f"Cancelled · {worked:,} of {distinct:,} objects processed, {p['cancelled']:,} cancelled")
    # The finished batch's rate is the work done over its run: cancelled items are not work.
    run_seconds = (datetime.fromisoformat(final["completed_at"]) - datetime.fromisoformat(final["started_at"]))
    assert p["items_per_second"] == pytest.approx(worked / max(run_seconds.total_seconds(), 1e-3), rel=0.06)

    results = list(client.batches.results(batch_id, page_size=50))   # every page
    assert len(results) == distinct and sum(r["status"] == "CANCELLED" for r in results) == p["cancelled"]
    assert list(client.batches.export_results(batch_id)) == results
    deterministic = sum(len(v) for k, v in client.batches.errors(batch_id)["by_type"].items()
                        if k in ("format_error", "corrupted_file"))
    retry = client.batches.retry(batch_id)
    assert retry["parent_batch_id"] == batch_id
    assert retry["progress"]["total"] == p["cancelled"] + p["failed"] - deterministic


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_cli_progress_bars_and_summary_in_a_real_terminal(stack, server, tmp_path):
    folder = tmp_path / "tty"
    distinct = make_corpus(folder, 150)
    socket = f"batchery-test-{os.getpid()}"   # a tmux server of our own, whatever else runs on the machine
    command = (f"cd {tmp_path} && BATCHERY_URL={server} PYTHONPATH={ROOT} {sys.executable} -m app.cli ingest "
               f"{folder} --collection tty --wait --poll 0.3; echo EXIT=$?; sleep 600")
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", "cli", "-x", "150", "-y", "60", command], check=True)
    try:
        def screen():
            return subprocess.run([*tmux, "capture-pane", "-p", "-t", "cli"], capture_output=True,
                                  text=True).stdout
        shown = wait_for(lambda: "EXIT=" in screen() and screen(), 600, interval=0.5, message="the CLI to finish")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    lines = shown.splitlines()
    bar = {title: next((line for line in lines if line.startswith(title)), "") for title in
           ("Hashing files", "Uploading", "Submitting batches", "Processing")}
    assert f"{distinct:,}/{distinct:,}" in bar["Hashing files"] and "━" in bar["Hashing files"], shown
    assert "KiB" in bar["Uploading"] and "1/1" in bar["Submitting batches"], shown
    assert f"{distinct:,}/{distinct:,}" in bar["Processing"], shown
    assert "Ingest summary" in shown and "COMPLETED_WITH_ERRORS" in shown and "EXIT=1" in shown, shown


@pytest.fixture(scope="module", params=["sqlite"])
def database_url(request, tmp_path_factory):
    """SQLite only: the client does not see the server's database, and the 2,500-item run is long on 2 cores."""
    yield migrate(f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'batchery.sqlite3'}")


def test_sdk_collection_export_streams_every_chunk(stack, server, tmp_path):
    client = Client(server)
    folder = tmp_path / "export"
    for n in range(20):
        (folder / f"n{n}.txt").parent.mkdir(exist_ok=True)
        (folder / f"n{n}.txt").write_text(f"Export note {n} about lighthouses and tides.")
    report = client.ingest(folder, "exported", wait=True, poll_seconds=0.3)
    assert report.count("succeeded") == 20
    rows = list(client.collections.export("exported"))
    assert {row["filename"] for row in rows} == {f"n{n}.txt" for n in range(20)}
    assert all(len(row["vector"]) == 384 for row in rows)
    assert client.collections.export("exported", tmp_path / "chunks.jsonl") == len(rows)
