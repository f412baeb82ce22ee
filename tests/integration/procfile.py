"""The Procfile's processes, run as a process manager would: each line through `sh -c`, with the venv on PATH."""
import os
import sys
from pathlib import Path

import requests

from tests.integration.stack import ROOT, LoggedProcess, wait_for


def procfile_commands() -> dict[str, str]:
    """{process name: command} of the Procfile."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


class ProcfileProcess(LoggedProcess):
    """One Procfile line in its own process group (stop() ends the shell and everything it started)."""

    def __init__(self, name: str, env: dict, log_path: Path):
        path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}"
        super().__init__(["sh", "-c", f"exec {procfile_commands()[name]}"], {**env, "PATH": path}, log_path)

    def exited_with(self, timeout: float) -> int:
        """The exit status of a process expected to stop by itself."""
        return wait_for(lambda: self.process.poll() is not None, timeout, interval=0.1,
                        message="the process to exit") and self.process.returncode


def release(env: dict, log_path: Path) -> None:
    """Run the Procfile's `release` line (database migrations) to completion, as a platform does before a deploy."""
    process = ProcfileProcess("release", env, log_path)
    try:
        assert process.exited_with(120) == 0, process.log_text()
    finally:
        process.stop()


def wait_until_serving(process: LoggedProcess, url: str, timeout: float = 90) -> None:
    """Poll GET url until it answers 200 (failing early with the log if the process died)."""
    def answered():
        process.assert_running("web")
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False
    wait_for(answered, timeout, interval=0.2, message=f"{url} to answer")
