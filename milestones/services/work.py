"""The work itself: the freelancer submits deliverables, the client sends them back for changes."""

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files import File
from django.utils import timezone

from milestones.errors import DeliverableRejected, MilestoneError
from milestones.models import DeliverableFile, Milestone, MilestoneAction, Submission
from milestones.services.skeleton import milestone_transition
from users.models import User

MAX_FILES_PER_SUBMISSION = 20


@dataclass(frozen=True)
class CheckedUpload:
    upload: File
    display_name: str
    size: int
    sha256: str


def deliverable_display_name(raw_name: str) -> str:
    """The uploader's file name reduced to plain text: no folders, no control characters."""
    name = PurePosixPath((raw_name or "").replace("\\", "/")).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name or "file"


def upload_check(upload: File) -> CheckedUpload:
    """Refuse by extension and size; hash the bytes. The declared content type is never trusted.

    The deliverables' rules, which dispute evidence follows too.
    """
    display_name = deliverable_display_name(upload.name or "")
    extension = PurePosixPath(display_name).suffix.lower().lstrip(".")
    allowed = {ext.lower().lstrip(".") for ext in settings.DELIVERABLE_ALLOWED_EXTENSIONS}
    if not extension or extension not in allowed:
        raise DeliverableRejected(
            f"“{display_name}” can't be uploaded: .{extension or '?'} files are not accepted. "
            f"Accepted: {', '.join(sorted(allowed))}."
        )
    limit = settings.DELIVERABLE_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise DeliverableRejected(f"“{display_name}” is larger than the {_format_bytes(limit)} limit.")
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise DeliverableRejected(f"“{display_name}” is larger than the {_format_bytes(limit)} limit.")
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(upload=upload, display_name=display_name, size=size, sha256=digest.hexdigest())


def _format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    return f"{size} bytes"


def milestone_submit(
    *,
    milestone: Milestone,
    actor: User,
    message: str,
    files: Sequence[File],
    idempotency_key: str | None = None,
) -> Milestone:
    """The freelancer hands over the work with a message and files; the review clock starts.

    Every submission is kept as a numbered revision. Files are checked before anything is
    written, then stored under random names through the storage API.
    """
    checked: list[CheckedUpload] = []
    revisions: list[int] = []

    def validate(locked: Milestone) -> None:
        if not message.strip():
            raise MilestoneError("Write a short message describing what you are handing over.")
        if not files:
            raise DeliverableRejected("Attach at least one file.")
        if len(files) > MAX_FILES_PER_SUBMISSION:
            raise DeliverableRejected(f"Attach at most {MAX_FILES_PER_SUBMISSION} files; zip the rest together.")
        checked.extend(upload_check(upload) for upload in files)

    def store_revision(locked: Milestone) -> str:
        revision = locked.submissions.count() + 1
        revisions.append(revision)
        submission = Submission.objects.create(milestone=locked, revision=revision, message=message, submitted_by=actor)
        for item in checked:
            deliverable = DeliverableFile(
                submission=submission, original_name=item.display_name, size=item.size, sha256=item.sha256
            )
            deliverable.file.save(item.display_name, item.upload, save=False)
            deliverable.save()
        return f"Revision {revision}: {len(checked)} file(s)."

    def headline(locked: Milestone, summary: str) -> str:
        return (
            # `{auto_release_at}` becomes the moment in each recipient's own zone (`milestone_notify`).
            f"Work was submitted (revision {revisions[0]}). Review it by {{auto_release_at}}, "
            "or it is released automatically."
        )

    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.SUBMIT,
        note=message,
        idempotency_key=idempotency_key,
        validate=validate,
        apply=store_revision,
        headline=headline,
    )


def milestone_request_changes(
    *, milestone: Milestone, actor: User, note: str, idempotency_key: str | None = None
) -> Milestone:
    """The client sends the submission back with a note; the review clock stops until the next one."""

    def validate(locked: Milestone) -> None:
        if not note.strip():
            raise MilestoneError("Say what needs to change; the freelancer will see your note.")

    def mark_latest_revision(locked: Milestone) -> str:
        latest = locked.submissions.order_by("-revision").first()
        if latest is not None:
            latest.changes_requested_note = note
            latest.changes_requested_at = timezone.now()
            latest.save(update_fields=["changes_requested_note", "changes_requested_at"])
        return ""

    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.REQUEST_CHANGES,
        note=note,
        idempotency_key=idempotency_key,
        validate=validate,
        apply=mark_latest_revision,
        headline=lambda _m, _s: "The client asked for changes.",
    )
