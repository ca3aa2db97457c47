"""Amazon SES (v2 `SendEmail` with raw content) as a transport.

The client comes from the store's boto3 factory (`sphere.send.seams.ses_client`) with
botocore's retries switched off. Errors are read by the store's `aws.classify` and sorted into
outcomes by SES's error codes and by whether the request could have reached SES.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sphere.errors import TransportError
from sphere.send.outcome import Outcome
from sphere.send.transports import Limits
from sphere.store import aws

log = logging.getLogger(__name__)

# Nothing was delivered: wait and try the same recipient again.
_RETRY_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestThrottled"}
)
# The account or the configuration cannot send at all now: stop, resume later.
_STOP_CODES = frozenset(
    {
        "SendingPausedException",
        "AccountSuspendedException",
        "MailFromDomainNotVerifiedException",
        "LimitExceededException",
        "NotFoundException",  # the configuration set does not exist
        "ConfigurationSetDoesNotExistException",
    }
)
# Our credentials are wrong: nothing will work until someone fixes them.
_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "AccessDeniedException",
        "AccessDenied",
        "ExpiredTokenException",
        "InvalidSignatureException",
    }
)
# Permanent for this one message or recipient.
_FAILED_CODES = frozenset({"MessageRejected", "BadRequestException", "InvalidParameterValue"})


class SesTransport:
    """Sends through SES v2; one client, shared by every worker thread (boto3 allows it)."""

    description = "Amazon SES"

    def __init__(
        self, client: Any, *, configuration_set: str = "", tags: Mapping[str, str] | None = None
    ):
        self.client = client
        self.configuration_set = configuration_set
        self.tags = dict(tags or {})

    def check(self) -> None:
        """Nothing to open: SES is stateless, and credentials are checked by the first send."""

    def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {"Raw": {"Data": message}},
        }
        if self.configuration_set:
            # The events SES publishes carry the tags: `campaign` counts bounces for the
            # breaker, `recipient` (an opaque id) lets `feedback sync` settle an unknown.
            tags = {**self.tags, **({"recipient": recipient} if recipient else {})}
            request["ConfigurationSetName"] = self.configuration_set
            request["EmailTags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
        try:
            response = self.client.send_email(**request)
        except aws.errors() as error:
            return classify(error, sender)
        return Outcome.accepted(str(response["MessageId"]))

    def close(self) -> None:
        self.client.close()

    def limits(self) -> Limits | None:
        """The account's MaxSendRate and 24-hour quota (`GetAccount`), or None if unreadable."""
        try:
            quota = self.client.get_account()["SendQuota"]
        except aws.errors() as error:
            outcome = classify(error, "")  # raises for refused credentials
            log.warning("cannot read the SES account's sending quota: %s", outcome.detail)
            return None
        return Limits(
            max_rate=float(quota["MaxSendRate"]),
            max_24h=int(quota["Max24HourSend"]),
            sent_24h=int(quota["SentLast24Hours"]),
        )


def classify(error: Exception, sender: str) -> Outcome:
    """The outcome an AWS error from `send_email` means; raises what stops everything at once."""
    failure = aws.classify(error)
    if failure.kind == "unconfigured":
        raise TransportError(f"cannot use Amazon SES: {error}") from None
    if failure.kind == "unreached":
        return Outcome.retry(f"could not connect to SES ({failure.name})")
    if failure.kind == "unanswered":
        return Outcome.unknown(f"no answer from SES after sending ({failure.name})")
    if failure.kind == "other":
        raise error
    code, text, status = failure.code, failure.message, failure.status
    if text.startswith("<"):  # an HTML error page (a proxy, a stand-in): no use on one line
        text = ""
    reason = (f"SES {code}: {text}" if text else f"SES {code}")[:300]
    if code in _CREDENTIAL_CODES:
        raise TransportError(f"Amazon SES refused our credentials ({code}): check the AWS keys")
    if code in _STOP_CODES or "quota" in text.lower():
        return Outcome.stop(reason)
    if code in _RETRY_CODES:
        return Outcome.retry(reason)
    if code == "MessageRejected" and sender and sender.lower() in text.lower():
        # The sender itself is not verified: every message would be refused the same way.
        return Outcome.stop(f"SES refuses the sender {sender}: verify it in SES ({text})"[:300])
    if code in _FAILED_CODES and status < 500:
        return Outcome.failed(reason)
    return Outcome.unknown(reason)  # a 5xx, or an answer we do not know: it may have gone out


__all__ = ["SesTransport", "classify"]
