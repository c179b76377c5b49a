"""The evidence packet: one ZIP of the whole case, with a manifest of every file's SHA-256.

The packet holds the case (case.json), the statements, the timeline, the offers, the contract's
messages and the milestone's history (as JSON), every evidence file and every submitted file. Its
`manifest.json` lists each other file of the packet with its size and SHA-256, computed from the
bytes written, and for stored files the SHA-256 recorded at upload, so anyone can check the record
outside the system. Reads only.
"""

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.files.storage import default_storage

from core.money import format_money
from disputes.models import Dispute
from disputes.selectors import contract_messages_for_packet, dispute_statements, dispute_timeline, milestone_offers
from milestones.selectors import milestone_history, milestone_submissions
from milestones.services import deliverable_display_name

CHUNK = 1024 * 1024


@dataclass
class _Packet:
    archive: zipfile.ZipFile
    manifest: list[dict[str, Any]] = field(default_factory=list)

    def add_json(self, path: str, data: Any) -> None:
        payload = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
        self.archive.writestr(path, payload)
        self.manifest.append({"path": path, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})

    def add_stored(self, path: str, *, name: str, recorded_sha256: str) -> None:
        """Copy a stored file into the packet, hashing exactly the bytes written."""
        digest, size = hashlib.sha256(), 0
        with default_storage.open(name, "rb") as source, self.archive.open(path, "w") as target:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
        self.manifest.append(
            {"path": path, "size": size, "sha256": digest.hexdigest(), "recorded_sha256": recorded_sha256}
        )


def _person(user: Any) -> str:
    return f"{user} <{user.email}>"


def dispute_packet_write(*, dispute: Dispute, target: IO[bytes]) -> None:
    """Write the case's packet as a ZIP into `target`."""
    milestone = dispute.milestone
    contract = milestone.contract
    currency = milestone.currency
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        packet = _Packet(archive=archive)
        packet.add_json(
            "case.json",
            {
                "dispute": dispute.pk,
                "status": dispute.status,
                "reason": dispute.reason,
                "opened_by": _person(dispute.opened_by),
                "opened_at": dispute.opened_at,
                "from_state": dispute.from_state,
                "review_time_remaining_seconds": dispute.review_time_remaining.total_seconds()
                if dispute.review_time_remaining is not None
                else None,
                "respond_by": dispute.respond_by,
                "no_response": dispute.no_response,
                "escalated_at": dispute.escalated_at,
                "outcome": dispute.outcome,
                "freelancer_amount": format_money(dispute.freelancer_amount, currency)
                if dispute.freelancer_amount is not None
                else None,
                "decision": dispute.decision if dispute.decided_by_arbitration else "",
                "closed_at": dispute.closed_at,
                "milestone": {
                    "id": milestone.pk,
                    "title": milestone.title,
                    "deliverables": milestone.deliverables,
                    "amount": format_money(milestone.amount, currency),
                    "state": milestone.state,
                    "due_date": milestone.due_date,
                },
                "contract": {
                    "id": contract.pk,
                    "title": contract.title,
                    "client": _person(contract.client),
                    "freelancer": _person(contract.freelancer),
                },
            },
        )
        statements = list(dispute_statements(dispute=dispute))
        packet.add_json(
            "statements.json",
            [
                {
                    "id": s.pk,
                    "author": _person(s.author),
                    "at": s.created_at,
                    "text": s.text,
                    "files": [{"name": f.original_name, "size": f.size, "sha256": f.sha256} for f in s.files.all()],
                }
                for s in statements
            ],
        )
        packet.add_json(
            "timeline.json",
            [
                {"at": e.at, "actor": str(e.actor), "action": e.action_label, "note": e.note}
                for e in dispute_timeline(dispute=dispute)
            ],
        )
        packet.add_json(
            "offers.json",
            [
                {
                    "id": o.pk,
                    "made_by": _person(o.made_by),
                    "at": o.created_at,
                    "to_freelancer": format_money(o.freelancer_amount, currency),
                    "message": o.message,
                    "status": o.status,
                    "expires_at": o.expires_at,
                    "answered_at": o.answered_at,
                }
                for o in milestone_offers(milestone=milestone)
            ],
        )
        packet.add_json(
            "messages.json",
            [
                {"at": m.created_at, "author": _person(m.author), "body": m.body}
                for m in contract_messages_for_packet(dispute=dispute)
            ],
        )
        packet.add_json(
            "milestone_history.json",
            [
                {
                    "at": e.at,
                    "actor": str(e.actor),
                    "action": e.action,
                    "from": e.from_state,
                    "to": e.to_state,
                    "note": e.note,
                }
                for e in milestone_history(milestone=milestone)
            ],
        )
        for statement in statements:
            for evidence in statement.files.all():
                packet.add_stored(
                    f"evidence/statement-{statement.pk}/{evidence.pk}-{deliverable_display_name(evidence.original_name)}",
                    name=str(evidence.file.name),
                    recorded_sha256=evidence.sha256,
                )
        for submission in milestone_submissions(milestone=milestone):
            for deliverable in submission.files.all():
                packet.add_stored(
                    f"submissions/revision-{submission.revision}/{deliverable.pk}-"
                    f"{deliverable_display_name(deliverable.original_name)}",
                    name=str(deliverable.file.name),
                    recorded_sha256=deliverable.sha256,
                )
        manifest = {
            "dispute": dispute.pk,
            "algorithm": "sha256",
            "files": packet.manifest,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
