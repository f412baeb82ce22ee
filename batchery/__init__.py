"""`import batchery`: the SDK under the distribution's own name (the code lives in app.client)."""
from app.client import ApiError, Client, IngestReport

__all__ = ["ApiError", "Client", "IngestReport"]
