"""Crashes and races: `sphere send` killed with SIGKILL at seeded random moments, then run again
to the end, never mails anyone twice; two sends of one issue started together mail each
subscriber once between them."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures_send import add_subscribers
from fixtures_send import mailed as count_mailed

from sphere.send.ledger import Ledger
from sphere.send.seams import open_store, people
from sphere.settings import Settings, load_settings

SLUG = "hard-sell-or-soft-sell"
SPHERE = str(Path(sys.executable).parent / "sphere")
CONCURRENCY = 4


def _env(project: Path, trial: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPHERE_")}
    env.update(
        SPHERE_SECRET="a-long-random-test-secret-0123456789",
        SPHERE_STORE=f".sphere/store-{trial}",
        SPHERE_TRANSPORT=f"outbox:.sphere/outbox-{trial}",
        SPHERE_SEND_CONCURRENCY=str(CONCURRENCY),
    )
    return env


def _settings(project: Path, trial: str) -> Settings:
    return load_settings(project, env=_env(project, trial))


def _send(project: Path, trial: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SPHERE, "send", SLUG, "--now", *args],
        cwd=project, env=_env(project, trial), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(10))
def test_a_send_killed_at_a_random_moment_then_rerun_mails_nobody_twice(
    project: Path, seed: int
) -> None:
    trial = f"crash-{seed}"
    settings = _settings(project, trial)
    add_subscribers(settings, [(f"r{n:04d}@example.org", f"R {n}") for n in range(2000)])
    log = project / ".sphere" / f"store-{trial}" / "campaigns" / SLUG / "log"
    rng = random.Random(seed)
    process = _send(project, trial, "--rate", "1000")
    deadline = time.monotonic() + 60
    while not (log.exists() and any(log.iterdir())):  # wait until sending has begun
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 1.8))  # the whole send takes about two seconds at this rate
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # killed mid-send, not after it finished
    state = Ledger(open_store(settings), SLUG).load()
    assert state is not None
    unknown_at_kill = state.counts()["unknown"]
    chunk = 200  # what one attempt record covers: a fifth of a second at --rate 1000
    assert unknown_at_kill <= CONCURRENCY + chunk

    rerun = _send(project, trial, "--take-over")
    _out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    mailed = count_mailed(project / ".sphere" / f"outbox-{trial}")
    assert max(mailed.values()) == 1  # nobody twice
    final = Ledger(open_store(settings), SLUG).load()
    assert final is not None and final.counts()["pending"] == 0
    by_id = {p.id: p.email for p in people(settings).values()}
    unknown = {by_id[final.ids[i]] for i, s in final.last.items() if s == "unknown"}
    assert len(unknown) == unknown_at_kill
    assert set(mailed) | unknown == set(by_id.values())  # everyone mailed once, or unknown


def test_two_sends_of_one_issue_started_together_mail_each_subscriber_once(
    project: Path,
) -> None:
    settings = _settings(project, "race")
    add_subscribers(settings, [(f"r{n:04d}@example.org", "") for n in range(300)])
    first, second = (_send(project, "race", "--rate", "200") for _ in range(2))
    results = [(p.wait(timeout=120), *p.communicate()) for p in (first, second)]
    mailed = count_mailed(project / ".sphere" / "outbox-race")
    assert len(mailed) == 300 and max(mailed.values()) == 1
    sent = sorted(int(out.split("sent ")[1].split(",")[0]) if code == 0 else -1 for code, out, _ in results)  # fmt: skip
    assert sent[-1] == 300  # one sent everything
    loser = [r for r in results if r[0] != 0 or "sent 0," in r[1]]
    assert len(loser) == 1  # the other sent nothing: refused, or found the list done
    code, _out, err = loser[0]
    assert code == 0 or (code == 1 and "is being sent by another sphere send" in err), err


def _sphere(project: Path, trial: str, *args: str) -> subprocess.Popen[str]:
    env = {**_env(project, trial), "SPHERE_SEND_RATE": "1000"}
    return subprocess.Popen(
        [SPHERE, *args], cwd=project, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_a_publish_killed_mid_send_is_resumed_by_the_next_publish_once_its_lease_expires(
    project: Path,
) -> None:
    """A publish job killed mid-send (a runner lost): the next scheduled `sphere publish`
    resumes it by itself once the lease's time to live has passed, with no --take-over."""
    trial = "publish-killed"
    settings = _settings(project, trial)
    add_subscribers(settings, [(f"r{n:04d}@example.org", "") for n in range(2000)])
    campaign = project / ".sphere" / f"store-{trial}" / "campaigns" / SLUG
    process = _sphere(project, trial, "publish")
    deadline = time.monotonic() + 60
    while not ((campaign / "log").exists() and any((campaign / "log").iterdir())):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    time.sleep(0.5)  # the whole send takes about two seconds at this rate
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL

    early = _sphere(project, trial, "publish")  # within the lease's two minutes
    _out, err = early.communicate(timeout=120)
    assert early.returncode != 0
    assert "stopped without finishing: it is resumed by the first send or publish after its " in err
    status = _sphere(project, trial, "status", SLUG)
    out, _err = status.communicate(timeout=60)
    assert (
        f"(stopped: pid {process.pid} on " in out and "the next publish or send resumes it)" in out
    )

    # The time to live passes. Another process's clock cannot be moved, so the lease is aged as
    # two minutes and more without a renewal would leave it.
    lease = json.loads((campaign / "lease.json").read_text())
    lease.update(renewed=lease["renewed"] - 300, expires=lease["expires"] - 300)
    (campaign / "lease.json").write_text(json.dumps(lease))
    later = _sphere(project, trial, "publish")
    _out, err = later.communicate(timeout=120)
    assert later.returncode == 0, err
    assert f"{SLUG}: took the send over from pid {process.pid} on " in err
    mailed = count_mailed(project / ".sphere" / f"outbox-{trial}")
    assert max(mailed.values()) == 1  # nobody twice
    final = Ledger(open_store(settings), SLUG).load()
    assert final is not None and final.counts()["pending"] == 0
    by_id = {p.id: p.email for p in people(settings).values()}
    unknown = {by_id[final.ids[i]] for i, s in final.last.items() if s == "unknown"}
    assert set(mailed) | unknown == set(by_id.values())  # everyone mailed once, or unknown
    assert len(unknown) <= CONCURRENCY + 200  # at most one chunk (docs/sending.md)
