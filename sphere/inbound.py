"""Unsubscribe requests by mail: the `mailto:` in every message's List-Unsubscribe header.

A reader's mail client sends `unsubscribe TOKEN` to `unsubscribe_mailto`. SES receives it (a
receipt rule for that address with an SNS action, docs/aws.md), and SNS puts the notification
(`notificationType: Received`) into the feedback queue, where `sphere feedback sync` finds it
beside the bounces and complaints. The law gives ten days to honour it (CAN-SPAM); the daily
publish reads the queue before every send.

Who is unsubscribed:

- the subscriber whose signed token the subject carries: the token alone identifies them (it
  is in no other message, and no address is needed), so a forwarded or re-sent request works;
- otherwise the sender, by the From address, but only when SES found the mail authentic (SPF
  or DKIM passed and DMARC did not fail): anyone can write any From, and a forged one must not
  unsubscribe someone else.

Mail SES judged spam or a virus, and mail not sent to `unsubscribe_mailto`, is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

_TOKEN = re.compile(r"unsubscribe\s+([A-Za-z0-9_.~-]+)", re.IGNORECASE)  # sphere.mail.tokens


@dataclass(frozen=True, slots=True)
class Request:
    """What one received mail asks: the tokens in its subject, its sender, and whether the
    sender is authenticated."""

    tokens: tuple[str, ...]
    sender: str  # the From address ("" if none)
    authentic: bool  # SPF or DKIM passed, DMARC did not fail
    recipients: tuple[str, ...]  # who SES received it for (lower case)
    unwanted: bool  # SES's spam or virus verdict failed


def request(notification: dict[str, Any]) -> Request:
    """The request in an SES `Received` notification, or ValueError if it is not one."""
    mail = notification.get("mail")
    receipt = notification.get("receipt")
    if not isinstance(mail, dict) or not isinstance(receipt, dict):
        raise ValueError("a Received notification without mail or receipt")
    headers = mail.get("commonHeaders")
    if not isinstance(headers, dict):
        headers = {}
    subject = headers.get("subject")
    senders = headers.get("from")
    found = getaddresses([str(s) for s in senders]) if isinstance(senders, list) else []
    recipients = receipt.get("recipients")
    return Request(
        tokens=tuple(_TOKEN.findall(subject)) if isinstance(subject, str) else (),
        sender=found[0][1] if found else "",
        authentic=_authentic(receipt),
        recipients=tuple(str(r).lower() for r in recipients)
        if isinstance(recipients, list)
        else (),
        unwanted=_verdict(receipt, "spamVerdict") == "FAIL"
        or _verdict(receipt, "virusVerdict") == "FAIL",
    )


def _verdict(receipt: dict[str, Any], name: str) -> str:
    verdict = receipt.get(name)
    return str(verdict.get("status", "")) if isinstance(verdict, dict) else ""


def _authentic(receipt: dict[str, Any]) -> bool:
    passed = "PASS" in (_verdict(receipt, "spfVerdict"), _verdict(receipt, "dkimVerdict"))
    return passed and _verdict(receipt, "dmarcVerdict") != "FAIL"
