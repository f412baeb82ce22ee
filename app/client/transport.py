"""HTTP for the SDK: auth headers, the error envelope as ApiError, retries with backoff + jitter honouring Retry-After."""
from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable

import requests

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class ApiError(Exception):
    """A non-2xx answer: the contract's error envelope (`type`, `message`, `details`) and the HTTP status."""

    def __init__(self, status: int, error_type: str, message: str, details: dict | None = None):
        super().__init__(f"{status} {error_type}: {message}")
        self.status, self.type, self.message, self.details = status, error_type, message, details or {}

    @classmethod
    def from_response(cls, response: requests.Response) -> ApiError:
        """Read the envelope; anything else (a proxy's HTML page) becomes `http_error` with the body's start."""
        try:
            error = response.json()["error"]
            return cls(response.status_code, error["type"], error["message"], error.get("details"))
        except (ValueError, KeyError, TypeError):
            return cls(response.status_code, "http_error", response.text[:300] or response.reason or "")


def _retryable(response: requests.Response) -> bool:
    """Overload, a gateway hiccup, or the first request with our Idempotency-Key still running on the server."""
    if response.status_code in RETRY_STATUSES:
        return True
    if response.status_code == 409 and "Idempotency-Key" in response.request.headers:
        try:
            return bool(response.json()["error"]["details"].get("in_progress"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return False
    return False


def backoff_seconds(attempt: int, retry_after: str | None, base: float, cap: float) -> float:
    """How long to wait before retry `attempt` (1-based): the server's Retry-After, else full-jitter exponential."""
    if retry_after is not None:
        try:  # Retry-After in seconds; a little jitter so many clients do not return in step
            return max(float(retry_after), 0.0) + random.uniform(0, base)
        except ValueError:
            pass  # an HTTP date: fall back to our own backoff
    return random.uniform(0, min(cap, base * 2 ** attempt))


def new_idempotency_key() -> str:
    """A fresh key for one logical creating request (its retries reuse it)."""
    return f"sdk-{uuid.uuid4().hex}"


class Transport:
    """One `requests.Session` with the key, the base URL and the retry policy."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 60.0, max_retries: int = 6,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, namespace: str | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.timeout, self.max_retries, self.sleep = timeout, max_retries, sleep
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "batchery-sdk"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"
        if namespace:  # only read by a development stack running with AUTH_DISABLED=1
            self.session.headers["X-Namespace"] = namespace

    def send(self, method: str, path: str, *, stream: bool = False, **kwargs) -> requests.Response:
        """Send with retries on 429/502/503/504 and connection errors; a final failure raises ApiError or the error.

        Only requests that are safe to repeat should reach here: reads, PUT/DELETE, and POSTs that carry an
        Idempotency-Key or are idempotent by contract (submit).
        """
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        for attempt in range(1, self.max_retries + 2):
            try:
                response = self.session.request(method, url, timeout=self.timeout, stream=stream, **kwargs)
            except (requests.ConnectionError, requests.Timeout):
                if attempt > self.max_retries:
                    raise
                self.sleep(backoff_seconds(attempt, None, self.backoff_base, self.backoff_cap))
                continue
            if _retryable(response) and attempt <= self.max_retries:
                retry_after = response.headers.get("Retry-After")
                response.close()
                self.sleep(backoff_seconds(attempt, retry_after, self.backoff_base, self.backoff_cap))
                continue
            if response.status_code >= 400:
                raise ApiError.from_response(response)
            return response
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kwargs):
        """Send and decode the JSON answer (None for 204)."""
        response = self.send(method, path, **kwargs)
        return None if response.status_code == 204 or not response.content else response.json()

    def lines(self, path: str, params: dict | None = None):
        """Stream an NDJSON answer, one decoded object per line."""
        with self.send("GET", path, params=params, stream=True) as response:
            for line in response.iter_lines():
                if line:
                    yield json.loads(line)
