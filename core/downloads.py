"""How a private stored file is handed to the browser: always an attachment, never rendered under our origin."""

from typing import IO
from urllib.parse import quote

from django.http import FileResponse


def private_attachment(
    stream: IO[bytes], *, filename: str, fallback: str = "download", content_type: str = "application/octet-stream"
) -> FileResponse:
    """An attachment with nosniff, a sandboxing CSP and no caching, so an HTML page named .png never renders.

    `fallback` names the file for browsers that only read the ASCII name, when nothing of it is ASCII.
    """
    response = FileResponse(stream, content_type=content_type)
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "")
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name or fallback}\"; filename*=UTF-8''{quote(filename)}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
