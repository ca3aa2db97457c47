"""Settling a crash's unknown outcomes from SES's own events.

A send killed between handing a chunk to SES and recording the answers leaves that chunk
"unknown" in the ledger: each of those people may or may not have been mailed, and a resume
skips them rather than risk mailing someone twice (sphere/send/ledger.py). With SES, the
messages that did go out are not lost track of: SES tags each with the campaign and the
recipient's opaque id (sphere/send/ses.py) and publishes a `Send` event for every message it
accepted, and `Delivery`, `Bounce`, ... later, to the feedback queue. `sphere feedback sync`
hands every tagged event here; an unknown recipient that an event names was accepted by SES,
and is recorded so, with SES's message id.

An unknown that no event names after the events have arrived (a minute or two) was never
accepted: `sphere send ISSUE --resend-unknown` sends to exactly those, safely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphere.store.blobs import BlobStore

SETTLED = "settled by an SES event"  # the ledger's detail on a settled outcome


class Settler:
    """Collects (campaign, recipient, SES message id) from events; `flush` records them.

    Each campaign's ledger is read at most once per sync, and only when the campaign may have
    unknowns: one whose completion record says none is skipped unread.
    """

    def __init__(self, store: BlobStore):
        self.store = store
        self._unknown: dict[str, dict[str, int]] = {}  # slug -> recipient id -> ledger index
        self._pending: dict[str, dict[int, str]] = {}  # slug -> index -> SES message id

    def add(self, campaign: str, recipient: str, message_id: str) -> None:
        """Note an event for a message SES accepted (for the next `flush`)."""
        if not campaign or not recipient or not message_id:
            return
        index = self._unknowns(campaign).pop(recipient, None)
        if index is not None:
            self._pending.setdefault(campaign, {})[index] = message_id

    def flush(self) -> int:
        """Record what was noted since the last flush in the ledgers; how many were settled."""
        from sphere import records
        from sphere.send.ledger import Ledger

        settled = 0
        for slug, found in self._pending.items():
            Ledger(self.store, slug).outcomes(
                (index, "accepted", message_id, SETTLED) for index, message_id in found.items()
            )
            records.count_settled(self.store, slug, len(found))
            settled += len(found)
        self._pending.clear()
        return settled

    def left(self) -> dict[str, int]:
        """Per campaign that had events: the unknowns no event has named (not accepted by
        SES, once its events have had a few minutes to arrive)."""
        return {slug: len(unknown) for slug, unknown in self._unknown.items() if unknown}

    def _unknowns(self, slug: str) -> dict[str, int]:
        if slug not in self._unknown:
            self._unknown[slug] = _read_unknowns(self.store, slug)
        return self._unknown[slug]


def _read_unknowns(store: BlobStore, slug: str) -> dict[str, int]:
    """The campaign's unknown recipients (id -> index); {} for a campaign with none."""
    from sphere import records
    from sphere.send.ledger import Ledger

    complete = records.read_complete(store, slug)
    if complete is not None and not complete.get("unknown"):
        return {}
    state = Ledger(store, slug).load()
    if state is None:
        return {}
    return {state.ids[i]: i for i, status in state.last.items() if status == "unknown"}
