"""Write a proposal's decisions with proofs an auditor checks without the dashboard.

    python manage.py audit_bundle <proposal id> [--checkpoint DIR] [--out bundle.json]

The bundle holds the proposal's logged rows (validations, decisions with their evidence,
break-glass decisions, deploy outcomes) as stored, each with its place in the decision log
and an inclusion proof against the newest signed checkpoint (made from a few of the log's
tiles, however long the log); the proposal row as stored;
the proposal's head in that checkpoint (what its rows and row are, ``tommemory_verify.heads``)
with its inclusion proof; and the checkpoint. ``python -m tommemory_verify bundle.json --key
audit.key.pub`` checks it with the public key alone: authentic, and every row the checkpoint
holds for the proposal, with the proposal row as it was then.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from memory_app.promotion import checkpoints, decision_log, log_tiles
from memory_app.promotion.models import AuditLeaf, Proposal
from tommemory_verify import tiles
from tommemory_verify.bundle import FORMAT
from tommemory_verify.heads import proposal_sha256
from tommemory_verify.leaves import json_value
from tommemory_verify.note import NoteError


class Command(BaseCommand):
    help = "Write one proposal's logged rows, inclusion proofs and signed checkpoint as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("proposal_id")
        parser.add_argument("--checkpoint", type=Path, default=None)
        parser.add_argument("--out", type=Path, default=None, help="default: standard output")

    def handle(self, *args, proposal_id: str, checkpoint: Path | None, out: Path | None,
               **options) -> None:  # fmt: skip
        proposal = Proposal.objects.filter(pk=proposal_id).first()
        if proposal is None:
            raise CommandError(f"no proposal {proposal_id!r}")
        try:
            note_path, _ = decision_log.latest_checkpoint(
                checkpoint or settings.TOM_AUDIT_CHECKPOINTS
            )
        except FileNotFoundError as error:
            raise CommandError(f"{error}: run `python manage.py audit_checkpoint` first") from error
        try:
            place, head, head_proof = checkpoints.proposal_head(note_path, proposal.pk)
            signed = checkpoints.unverified_checkpoint(note_path)
        except (checkpoints.CheckpointRefused, NoteError) as error:
            raise CommandError(str(error)) from error
        entries = []
        for kind in checkpoints.PROPOSAL_KINDS:
            model = decision_log.KINDS[kind][0]
            ids = list(model.objects.filter(proposal_id=proposal.pk).values_list("pk", flat=True))
            rows = decision_log.stored_rows(kind, ids)
            evidence = decision_log.stored_evidence(ids) if kind == "approval" else {}
            logged = dict(
                AuditLeaf.objects.filter(kind=kind, row_id__in=ids).values_list("row_id", "index")
            )
            for row_id in ids:
                index = logged.get(row_id)
                if index is None or index >= signed.size:
                    raise CommandError(
                        f"{kind} {row_id!r} is not in the newest checkpoint yet: run "
                        "`python manage.py audit_checkpoint`, then make the bundle"
                    )
                entries.append({
                    "index": index, "kind": kind, "row": rows[row_id],
                    "evidence": evidence.get(row_id) if kind == "approval" else None,
                })  # fmt: skip
        self._prove(entries, signed)
        row = decision_log.stored_proposal(proposal.pk)
        if len(entries) != head.leaves or proposal_sha256(row) != head.proposal_sha256:
            raise CommandError(
                f"proposal {proposal.pk!r} changed after the newest checkpoint (its row, or its "
                "rows in the log): run `python manage.py audit_checkpoint`, then make the bundle"
            )
        bundle = {
            "format": FORMAT,
            "proposal": row,
            "head": {"index": place, "proof": [h.hex() for h in head_proof], **head.as_json()},
            "entries": sorted(entries, key=lambda e: e["index"]),
            "checkpoint": note_path.read_text(),
        }
        text = json.dumps(bundle, ensure_ascii=False, indent=1, default=json_value) + "\n"
        if out is None:
            self.stdout.write(text, ending="")
        else:
            out.write_text(text)
            self.stderr.write(f"wrote {out}: {len(entries)} logged rows of {proposal.pk}")

    @staticmethod
    def _prove(entries: list[dict], signed) -> None:
        """Each entry's inclusion proof in the checkpoint's tree, from a few of the log's
        tiles (one query for them all, however long the log); refused when the tiles do not
        hold the signed tree (the next checkpoint makes them again)."""
        size = signed.size
        try:
            proofs = log_tiles.proofs(
                roots=[size], inclusions=[(entry["index"], size) for entry in entries]
            )
            if proofs.root(size) != signed.root:
                raise tiles.MissingTile("they hold another tree")
        except tiles.MissingTile as error:
            raise CommandError(
                f"the log's stored tiles do not hold the tree of the newest checkpoint ({error}): "
                "`python manage.py verify_audit --checkpoint <dir>` says why"
            ) from error
        for entry in entries:
            entry["proof"] = [h.hex() for h in proofs.inclusion(entry["index"], size)]
