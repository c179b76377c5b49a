"""Stop reading an oversized deliverable as soon as it passes the cap, instead of after it is on disk.

Two caps, both enforced while the body streams in: each file (`DELIVERABLE_MAX_BYTES`) and all the
files of one request together (`DELIVERABLE_MAX_REQUEST_BYTES`).

The service checks every file's size again (the source of truth); this only keeps a huge upload
from filling the temporary upload folder first.
"""

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest


class DeliverableSizeLimitHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0
        self.request_received = 0  # every file of this request so far; never reset between files

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        self.request_received += len(raw_data)
        if self.request_received > settings.DELIVERABLE_MAX_REQUEST_BYTES:
            mark_request_too_large(self.request)
            raise StopUpload(connection_reset=False)
        if self.received > settings.DELIVERABLE_MAX_BYTES:
            oversized_uploads(self.request).append(self.file_name or "file")
            # Keep the connection: the rest of the body is read and thrown away, and the view explains.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


def oversized_uploads(request: HttpRequest | None) -> list[str]:
    """Names of the files this request dropped for being too large."""
    if request is None:
        return []
    if not hasattr(request, "_deliverables_oversized"):
        request._deliverables_oversized = []  # type: ignore[attr-defined]
    return request._deliverables_oversized  # type: ignore[attr-defined]


def mark_request_too_large(request: HttpRequest | None) -> None:
    if request is not None:
        request._deliverables_request_too_large = True  # type: ignore[attr-defined]


def request_too_large(request: HttpRequest | None) -> bool:
    """Whether this request's files together passed `DELIVERABLE_MAX_REQUEST_BYTES` (and were all dropped)."""
    return bool(getattr(request, "_deliverables_request_too_large", False))
