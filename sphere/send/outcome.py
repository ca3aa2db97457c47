"""What became of one attempt to hand a message to a transport.

The kinds decide what the campaign does next, so each transport sorts its own errors into
them and nothing above a transport ever looks at an SMTP code or an AWS error name:

- accepted: the transport took the message (with its message id); never send it again.
- retry: nothing was delivered (throttled, a connection that never opened, an SMTP 4xx):
  wait and try the same recipient again.
- failed: permanent for this recipient (SES MessageRejected, an SMTP 5xx for the address):
  record it, never retry, go on with the others.
- stop: the whole run must stop (quota exhausted, sending paused, the sender not verified):
  stop cleanly, mark nobody failed, resume later.
- unknown: the request went out and no answer came back (a timeout or a dropped connection
  after sending, a 5xx): it may have been delivered, so it is not resent without being asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_ADDRESS = re.compile(r"([^\s<>\"'(),;:@]{1,2})[^\s<>\"'(),;:@]*@([^\s<>\"'(),;:]+)")


class Kind(StrEnum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    FAILED = "failed"
    STOP = "stop"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result; `detail` is a short reason with no address or token in it."""

    kind: Kind
    message_id: str = ""
    detail: str = ""

    @classmethod
    def accepted(cls, message_id: str) -> Outcome:
        return cls(Kind.ACCEPTED, message_id=message_id)

    @classmethod
    def retry(cls, detail: str) -> Outcome:
        return cls(Kind.RETRY, detail=redact(detail))

    @classmethod
    def failed(cls, detail: str) -> Outcome:
        return cls(Kind.FAILED, detail=redact(detail))

    @classmethod
    def stop(cls, detail: str) -> Outcome:
        return cls(Kind.STOP, detail=redact(detail))

    @classmethod
    def unknown(cls, detail: str) -> Outcome:
        return cls(Kind.UNKNOWN, detail=redact(detail))


def redact(text: str) -> str:
    """`text` with every address in it shortened to `jo…@domain` (for logs and the ledger)."""
    return _ADDRESS.sub(r"\1…@\2", text)
