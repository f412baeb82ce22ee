"""A real S3-compatible HTTP server for tests: moto's standalone server on a free loopback port."""
import os
import subprocess
import sys
import uuid

import boto3
import requests

from app.embedded import free_port
from tests.integration.stack import wait_for

# moto accepts any credentials; botocore only needs some to sign with (no real S3 is reachable here).
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    """`python -m moto.server` in its own process group; `bucket()` makes a fresh bucket."""

    def __init__(self, host: str = "127.0.0.1"):
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", host, "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.environ.update({k: os.environ.get(k, v) for k, v in CREDENTIALS.items()})
        wait_for(self._up, 60, interval=0.2, message="moto's S3 server")
        self.client = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1")

    def _up(self) -> bool:
        """True once the server answers HTTP."""
        if self.process.poll() is not None:
            raise AssertionError("moto server exited early")
        try:
            return requests.get(self.url, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    def bucket(self) -> str:
        """A new, empty bucket."""
        name = f"batchery-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        """Every key in the bucket."""
        return [o["Key"] for o in self.client.list_objects_v2(Bucket=bucket).get("Contents", [])]

    def stop(self) -> None:
        """Terminate the server."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
