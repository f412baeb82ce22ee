"""The Batchery Python SDK: `from batchery import Client` (or `from app.client import Client`)."""
from app.client.client import Client
from app.client.ingest import IngestReport
from app.client.transport import ApiError

__all__ = ["ApiError", "Client", "IngestReport"]
