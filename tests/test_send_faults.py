"""Faults between boto3 and SES: a small proxy of the tests' own, in front of moto, injects
throttling answers and refused connections (the send completes, everyone mailed exactly once),
and 5xx answers and dropped responses after forwarding (nobody mailed twice; everyone mailed or
reported unknown; a rerun with --resend-unknown completes the list)."""

from __future__ import annotations

import ctypes
import http.client
import json
import logging
import random
import secrets
import socket
import struct
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fixtures_send import add_subscribers

from sphere.send.ledger import Ledger
from sphere.send.run import SendRequest, send_issue
from sphere.send.seams import open_store, ses_client
from sphere.settings import Settings, load_settings

SLUG = "hard-sell-or-soft-sell"
_SO_ATTACH_FILTER = 26  # from <asm-generic/socket.h>; Python's socket module lacks it


@dataclass
class Faults:
    """Rates (0..1) of each fault, per request (refusals: per new connection)."""

    throttle: float = 0.0  # answer 400 TooManyRequestsException, forward nothing
    refuse: float = 0.0  # close the listening socket for a moment: connections refused
    error_after: float = 0.0  # forward, then answer 500 instead of moto's answer
    drop_after: float = 0.0  # forward, then close the connection without an answer
    seen: Counter[str] = field(default_factory=Counter)


class FaultProxy:
    """An HTTP proxy on a loopback port that forwards to moto, or misbehaves at set rates.

    Every answer closes its connection, so each request opens a new one and a refusal (the
    listening socket closed for a moment) hits requests at about the rate asked for.
    """

    def __init__(self, upstream: str, faults: Faults, seed: int):
        self.upstream = urlsplit(upstream)
        self.faults = faults
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.port = _free_port()
        self.running = True
        self.listener = self._listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _listen(self) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        return listener

    def _roll(self, rate: float) -> bool:
        with self.lock:
            return self.rng.random() < rate

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self._start(connection)
            if self._roll(self.faults.refuse):  # the next connections find nobody listening
                self.faults.seen["refuse"] += 1
                self._refuse_for_a_moment()

    def _refuse_for_a_moment(self) -> None:
        """Close the listening socket for a tenth of a second, so connections are refused.

        Closing a listener resets every connection the kernel completed but nobody accepted
        yet, and such a client has already sent its request: to it, that is an answer lost
        after sending (unknown), not a refusal. So the kernel is first told to drop every new
        handshake (a dropped SYN is simply sent again a second later), then whoever is queued
        is accepted and served, and only then is the socket closed.
        """
        _drop_new_handshakes(self.listener)
        self.listener.setblocking(False)
        while True:
            try:
                self._start(self.listener.accept()[0])
            except BlockingIOError:
                break
        self.listener.close()
        time.sleep(0.1)
        self.listener = self._listen()

    def _start(self, connection: socket.socket) -> None:
        connection.setblocking(True)
        threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            method, path, headers, body = _read_request(connection)
            if self._roll(self.faults.throttle):
                self.faults.seen["throttle"] += 1
                connection.sendall(_error(400, "TooManyRequestsException", "Maximum sending rate exceeded."))  # fmt: skip
                return
            status, reply_headers, reply = self._forward(method, path, headers, body)
            if self._roll(self.faults.error_after):
                self.faults.seen["error_after"] += 1
                connection.sendall(_error(500, "InternalFailure", "Internal failure."))
            elif self._roll(self.faults.drop_after):
                self.faults.seen["drop_after"] += 1
            else:
                self.faults.seen["passed"] += 1
                head = f"HTTP/1.1 {status} X\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in reply_headers
                )
                connection.sendall(head.encode() + f"Content-Length: {len(reply)}\r\nConnection: close\r\n\r\n".encode() + reply)  # fmt: skip

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:  # fmt: skip
        upstream = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=30
        )
        try:
            upstream.request(method, path, body=body, headers=headers)
            answer = upstream.getresponse()
            reply = answer.read()
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("content-length", "connection", "transfer-encoding")]  # fmt: skip
            return answer.status, kept, reply
        finally:
            upstream.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.listener.close()


def _drop_new_handshakes(listener: socket.socket) -> None:
    """Attach a classic BPF filter that drops every packet (Linux): no SYN reaches the queue."""
    drop_all = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0))  # BPF_RET|BPF_K 0
    program = struct.pack("HP", 1, ctypes.addressof(drop_all))  # struct sock_fprog
    listener.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, program)


def _read_request(connection: socket.socket) -> tuple[str, str, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    length = int(headers.get("Content-Length", headers.get("content-length", "0")))
    while len(body) < length:
        body += connection.recv(65536)
    return method, path, headers, body


def _error(status: int, code: str, message: str) -> bytes:
    body = json.dumps({"__type": code, "message": message}).encode()
    return (
        f"HTTP/1.1 {status} X\r\nx-amzn-ErrorType: {code}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ses_settings(project: Path, aws: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    domain = f"t{secrets.token_hex(4)}.example"
    ses_client().create_email_identity(EmailIdentity=domain)
    env = {
        "SPHERE_TRANSPORT": "ses", "SPHERE_SECRET": "a-long-random-test-secret-0123456789",
        "SPHERE_POSTAL_ADDRESS": "Jim Wigg, 1 High Street, Bath BA1 1AA, United Kingdom",
        "SPHERE_FROM": f"Jim Wigg <newsletter@{domain}>", "SPHERE_SEND_RATE": "0",
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(project)


@pytest.fixture
def proxy(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """boto3 in this process talks to moto through the fault proxy; set the rates on the Faults."""
    faults = Faults()
    running = FaultProxy(aws, faults, seed=20261126)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{running.port}")
    yield faults
    running.close()


def _delivered(endpoint: str, settings: Settings) -> Counter[str]:
    """How many messages moto accepted for each address, from this test's sender."""
    with urllib.request.urlopen(endpoint + "/moto-api/data.json") as answer:  # noqa: S310
        stored = json.load(answer)["ses"]["RawMessage"]
    found: Counter[str] = Counter()
    for record in stored:
        if record["source"] == settings.sender_address:
            message = message_from_bytes(record["raw_data"].encode(), policy=policy.default)
            found[message["To"].addresses[0].addr_spec] += 1
    return found


def _send(settings: Settings, **options: object) -> object:
    request = SendRequest(issue=SLUG, now=True, concurrency=4, **options)  # type: ignore[arg-type]
    return send_issue(settings, request)


def test_throttling_and_refused_connections_still_mail_everyone_exactly_once(
    aws: str, ses_settings: Settings, proxy: Faults, caplog: pytest.LogCaptureFixture
) -> None:
    ids = add_subscribers(ses_settings, [(f"r{n:03d}@example.org", "") for n in range(150)])
    proxy.throttle, proxy.refuse = 0.15, 0.05
    with caplog.at_level(logging.INFO, logger="sphere.send.campaign"):
        report = _send(ses_settings)
    retried = Counter(r.getMessage().split(": ", 1)[1] for r in caplog.records if r.getMessage().startswith("retrying"))  # fmt: skip
    assert retried["SES TooManyRequestsException: Maximum sending rate exceeded."] >= 10, retried
    assert retried["could not connect to SES (EndpointConnectionError)"] >= 1, retried
    assert (report.sent, report.unknown, report.failed, report.stopped) == (150, 0, 0, "")  # type: ignore[attr-defined]
    assert _delivered(aws, ses_settings) == dict.fromkeys(ids, 1)


def test_answers_lost_after_forwarding_are_unknown_never_sent_twice(
    aws: str, ses_settings: Settings, proxy: Faults
) -> None:
    ids = add_subscribers(ses_settings, [(f"r{n:03d}@example.org", "") for n in range(150)])
    proxy.error_after, proxy.drop_after = 0.08, 0.08
    report = _send(ses_settings)
    lost = proxy.seen["error_after"] + proxy.seen["drop_after"]
    assert proxy.seen["error_after"] >= 2 and proxy.seen["drop_after"] >= 2, proxy.seen
    assert (report.sent, report.unknown) == (150 - lost, lost)  # type: ignore[attr-defined]
    delivered = _delivered(aws, ses_settings)
    assert max(delivered.values()) == 1  # nobody twice
    state = Ledger(open_store(ses_settings), SLUG).load()
    assert state is not None and state.counts() == {
        "accepted": 150 - lost, "failed": 0, "skipped": 0, "unknown": lost, "pending": 0
    }  # fmt: skip
    assert set(delivered) == set(ids)  # the lost answers were for messages moto did take

    proxy.error_after = proxy.drop_after = 0.0
    again = _send(ses_settings)  # unknowns are not resent by default
    assert (again.sent, again.unknown_before) == (0, lost)  # type: ignore[attr-defined]
    finished = _send(ses_settings, resend_unknown=True)
    assert finished.sent == lost  # type: ignore[attr-defined]
    state = Ledger(open_store(ses_settings), SLUG).load()
    assert state is not None and state.counts()["accepted"] == 150
