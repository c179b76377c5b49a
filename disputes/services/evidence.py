"""Statements and their evidence files: the deliverables' storage rules, checked before anything is written."""

from collections.abc import Sequence

from django.core.files import File

from disputes.errors import DisputeError
from disputes.models import Dispute, EvidenceFile, Statement
from milestones.services import MAX_FILES_PER_SUBMISSION, CheckedUpload, upload_check
from users.models import User


def evidence_check(*, files: Sequence[File]) -> list[CheckedUpload]:
    """Refuse too many files, a type off the allow-list or a file over the cap; hash the rest."""
    if len(files) > MAX_FILES_PER_SUBMISSION:
        raise DisputeError(f"Attach at most {MAX_FILES_PER_SUBMISSION} files; zip the rest together.")
    return [upload_check(upload) for upload in files]


def statement_store(*, case: Dispute, author: User, text: str, checked: Sequence[CheckedUpload]) -> Statement:
    """The statement and its files, stored privately under random names with their size and SHA-256."""
    statement = Statement.objects.create(dispute=case, author=author, text=text)
    for item in checked:
        evidence = EvidenceFile(
            statement=statement, original_name=item.display_name, size=item.size, sha256=item.sha256
        )
        evidence.file.save(item.display_name, item.upload, save=False)
        evidence.save()
    return statement
