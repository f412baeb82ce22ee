"""Reading Server-Sent Events in tests: parse text into messages, or read a live stream with requests."""
import json


def parse_sse(text: str) -> list[dict]:
    """Messages as {"id", "event", "data"} (data parsed as JSON); comments and retry-only blocks are skipped."""
    messages = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if "event" in fields or "data" in fields:
            messages.append({"id": int(fields["id"]), "event": fields.get("event", "message"),
                             "data": json.loads(fields["data"])})
    return messages


def read_stream(response) -> tuple[list[dict], str]:
    """Read a streaming requests response to its end; (messages, raw text)."""
    raw = "".join(chunk for chunk in response.iter_content(chunk_size=None, decode_unicode=True))
    return parse_sse(raw), raw
