"""Object bytes in an S3 (or S3-compatible) bucket: uploads stream in bounded parts, outages are transient."""
from contextlib import contextmanager

from app.errors import StorageUnavailable
from app.objects.upload_stream import CountedBlocks, StoredBytes, new_key

_BLOCK = 1024 * 1024


@contextmanager
def _translated(key: str):
    """A missing key is FileNotFoundError; any other S3 or connection failure is StorageUnavailable (retried)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise FileNotFoundError(key) from exc
        raise StorageUnavailable(f"object storage refused {key}: {code or exc}") from exc
    except BotoCoreError as exc:  # connection refused or reset, timeouts, no credentials
        raise StorageUnavailable(f"object storage unreachable: {exc}") from exc


class S3Store:
    """Keys under `prefix/` in `bucket`; region and credentials come from the standard AWS settings."""

    # S3's minimum part is 5 MiB; one part is all an upload ever holds in memory.
    part_bytes = 8 * 1024 * 1024

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, f"{prefix}/" if prefix else ""
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60,
                        # S3-compatible servers (MinIO, moto, Ceph) are addressed by path, not by DNS name.
                        s3={"addressing_style": "path"} if endpoint_url else None)
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)

    def save_stream(self, stream, max_bytes: int | None) -> StoredBytes:
        """Upload in parts of part_bytes (one PUT when smaller); an unfinished multipart upload is aborted."""
        key = new_key()
        blocks, buffer, upload_id, parts = CountedBlocks(stream, max_bytes, _BLOCK), bytearray(), None, []
        with _translated(key):
            try:
                for block in blocks:
                    buffer += block
                    if len(buffer) >= self.part_bytes:
                        upload_id = upload_id or self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=self.prefix + key)["UploadId"]
                        part = bytes(memoryview(buffer)[:self.part_bytes])
                        parts.append(self._part(key, upload_id, len(parts) + 1, part))
                        del buffer[:self.part_bytes]
                if upload_id is None:
                    self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=bytes(buffer))
                else:
                    if buffer:
                        parts.append(self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                    self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.prefix + key, UploadId=upload_id,
                                                          MultipartUpload={"Parts": parts})
            except BaseException:
                if upload_id:
                    self._abort(key, upload_id)
                raise
        return blocks.stored_as(key)

    def _part(self, key: str, upload_id: str, number: int, body: bytes) -> dict:
        """Upload one part; returns what completing the upload needs."""
        answer = self.client.upload_part(Bucket=self.bucket, Key=self.prefix + key, UploadId=upload_id,
                                         PartNumber=number, Body=body)
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _abort(self, key: str, upload_id: str) -> None:
        """Best effort: abandon_uploads removes what an outage left behind."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.prefix + key, UploadId=upload_id)
        except Exception:
            pass

    def read_bytes(self, key: str) -> bytes:
        """The object's bytes."""
        with _translated(key):
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()

    def delete(self, key: str) -> None:
        """DELETE is idempotent in S3: a missing key is fine."""
        with _translated(key):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def stored_before(self, older_than: float):
        """Keys under the prefix last modified before `older_than`."""
        with _translated(self.prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for entry in page.get("Contents", []):
                    if entry["LastModified"].timestamp() < older_than:
                        yield entry["Key"][len(self.prefix):]

    def abandon_uploads(self, older_than: float) -> int:
        """Abort multipart uploads under the prefix started before `older_than` (their parts cost storage)."""
        aborted = 0
        with _translated(self.prefix):
            for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                      Prefix=self.prefix):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"].timestamp() < older_than:
                        self._abort(upload["Key"][len(self.prefix):], upload["UploadId"])
                        aborted += 1
        return aborted
