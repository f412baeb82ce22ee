"""`batchery up` with nothing but Python: private Redis, SQLite, API + worker + beat, clean Ctrl-C."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading

import redis
import requests

from app.embedded import free_port
from tests.fixture_files import make_markdown
from tests.integration.stack import ROOT, wait_for


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_batchery_up_runs_the_whole_stack_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "AUTH_DISABLED"}}
    env["BATCHERY_DATA_DIR"] = str(tmp_path / "var")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "up", "--port", str(port), "--workers", "1", "--flower"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    redis_port = flower = None
    try:
        def ready():
            try:
                return requests.get(f"{base}/readyz", timeout=5).status_code == 200
            except requests.RequestException:  # not listening yet, or workers still booting
                assert proc.poll() is None, "".join(lines)
                return False
        wait_for(ready, 90, interval=0.3, message="the embedded API to be ready")
        banner = "".join(lines)
        assert f"{base}/docs" in banner
        redis_port = int(re.search(r"private Redis at redis://127\.0\.0\.1:(\d+)", banner).group(1))
        assert redis.Redis(port=redis_port).config_get("bind")["bind"] == "127.0.0.1"
        assert (tmp_path / "var" / "batchery.sqlite3").exists()
        flower = re.search(r"Flower: (http://127\.0\.0\.1:(\d+))  \(user (\S+), password (\S+)\)", banner)
        assert flower, banner
        flower_url, flower_port, login = flower.group(1), int(flower.group(2)), (flower.group(3), flower.group(4))

        def flower_sees_the_worker():
            try:
                assert requests.get(f"{flower_url}/", timeout=5).status_code == 401   # the UI asks for the login too
                workers = requests.get(f"{flower_url}/api/workers", params={"refresh": 1}, auth=login, timeout=10)
            except requests.RequestException:  # Flower still starting
                return False
            return workers.status_code == 200 and workers.json()
        wait_for(flower_sees_the_worker, 90, interval=0.5,
                 message="Flower (basic auth) to list the stack's worker")

        files = [("file", ("guide.md", make_markdown(), "text/plain")), ("file", ("plain.txt", b"Plain words here.", "text/plain"))]
        created = requests.post(f"{base}/v1/batches", files=files, data={"collection_id": "laptop", "auto_submit": "true"},
                                timeout=10)
        assert created.status_code == 201, created.text
        batch_id = created.json()["batch_id"]

        def finished():
            body = requests.get(f"{base}/v1/batches/{batch_id}", timeout=5).json()
            return body if body["status"] in {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"} else None
        assert wait_for(finished, 120, interval=0.3, message="the batch to finish")["status"] == "COMPLETED"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            exit_code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert exit_code == 0, "".join(lines)
    assert "Stopped." in "".join(lines)
    assert not port_open(port)
    if redis_port:
        assert not port_open(redis_port)
    if flower:
        assert not port_open(flower_port)
