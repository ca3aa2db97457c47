"""Unknown outcomes per SIGKILL of an SES send, before and after `feedback sync` settles them.

    uv run python benchmarks/unknowns.py [--rounds 5] [--recipients 300] [--rate 100]

Against moto in server mode (S3 for the store, SES, SNS and SQS), each round, in a fresh
store and bucket:

1. `sphere send ISSUE --rate RATE` through SES, SIGKILLed at a random moment while a chunk is
   recorded as attempted and not yet answered (what a runner lost mid-send leaves);
2. counts the ledger's unknowns (before);
3. publishes, for every message moto's SES accepted, the `Send` event SES would publish with
   Sphere's tags (moto publishes no events; the event is built from what moto did accept), and
   runs `sphere feedback sync`; counts the unknowns again (after: those SES never accepted);
4. `sphere send ISSUE --take-over --resend-unknown` finishes the list; times it from the kill
   (the time from a killed send to the next one finishing, lease take-over included), and
   counts the unknowns left, who got two messages, and who none (targets: 0, 0, 0).

Prints each round, then min and median of each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fixtures_aws import AWS_TEST_ENV, moto_server, ses_notification  # noqa: E402
from fixtures_send import add_subscribers  # noqa: E402

from sphere.send.ledger import Ledger  # noqa: E402
from sphere.send.seams import open_store  # noqa: E402
from sphere.settings import load_settings  # noqa: E402
from sphere.store import aws  # noqa: E402

SLUG = "hard-sell-or-soft-sell"
SPHERE = str(Path(sys.executable).parent / "sphere")


def _project(folder: Path) -> Path:
    for name in ("pyproject.toml", ".gitignore"):
        shutil.copy(REPO / name, folder / name)
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, folder / name)
    return folder


def _aws_env(endpoint: str) -> dict[str, str]:
    return {**AWS_TEST_ENV, "AWS_ENDPOINT_URL": endpoint}


def _setup(endpoint: str) -> dict[str, str]:
    """A bucket, a verified domain and a feedback queue behind a topic; the SPHERE_* settings."""
    os.environ.update(_aws_env(endpoint))
    bucket, domain = f"bench-{secrets.token_hex(5)}", f"b{secrets.token_hex(4)}.example"
    region = AWS_TEST_ENV["AWS_DEFAULT_REGION"]
    aws.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
    )
    aws.client("sesv2").create_email_identity(EmailIdentity=domain)
    sqs, sns = aws.client("sqs"), aws.client("sns")
    queue = sqs.create_queue(QueueName=bucket)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    topic = sns.create_topic(Name=bucket)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    return {
        "SPHERE_STORE": f"s3://{bucket}/sphere", "SPHERE_TRANSPORT": "ses",
        "SPHERE_FROM": f"Jim Wigg <newsletter@{domain}>", "SPHERE_SECRET": "b" * 40,
        "SPHERE_POSTAL_ADDRESS": "Jim Wigg, 1 High Street, Bath BA1 1AA, United Kingdom",
        "SPHERE_SES_CONFIGURATION_SET": "sphere", "SPHERE_FEEDBACK_QUEUE_URL": queue,
        "SPHERE_TODAY": "2026-12-01", "BENCH_TOPIC": topic, "BENCH_SENDER": f"newsletter@{domain}",
    }  # fmt: skip


def _accepted(endpoint: str, sender: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(endpoint + "/moto-api/data.json") as answer:  # noqa: S310
        return [m for m in json.load(answer)["ses"]["RawMessage"] if m["source"] == sender]


def _send_event(message: dict[str, object], recipient: str) -> str:
    to = _destination(message)
    body = json.loads(ses_notification("Send", to, shape="eventType", campaign=SLUG))
    body["mail"].update(messageId=message["id"])
    body["mail"]["tags"]["recipient"] = [recipient]
    body.pop("delivery", None)
    return json.dumps(body)


def _destination(message: dict[str, object]) -> str:
    return str(message["destinations"][0])  # type: ignore[index]


def _unknowns(ledger: Ledger) -> int:
    state = ledger.load()
    if state is None:
        raise SystemExit("no ledger: the send never started")
    return state.counts()["unknown"]


def one_round(
    endpoint: str, project: Path, args: argparse.Namespace, rng: random.Random
) -> dict[str, float]:
    """One send killed, settled and finished; its figures."""
    env = {**os.environ, **_aws_env(endpoint), **_setup(endpoint)}
    os.environ.update(env)
    settings = load_settings(project, env=env)
    people = [(f"r{n:05d}@example.org", "") for n in range(args.recipients)]
    ids = add_subscribers(settings, people)
    ledger = Ledger(open_store(settings), SLUG)
    process = subprocess.Popen(
        [SPHERE, "send", SLUG, "--now", "--rate", str(args.rate)], cwd=project, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while (state := ledger.load()) is None or state.counts()["unknown"] == 0:
        if process.poll() is not None:
            raise SystemExit("the send finished before it could be killed: lower --rate")
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.5 * max(10, args.rate) / args.rate))  # inside the chunk
    process.send_signal(signal.SIGKILL)
    killed_at = time.perf_counter()
    process.wait()
    before = _unknowns(ledger)
    sender = env["BENCH_SENDER"]
    sns = aws.client("sns")
    for message in _accepted(endpoint, sender):
        event = _send_event(message, ids[_destination(message)])
        sns.publish(TopicArn=env["BENCH_TOPIC"], Message=event)

    def sphere(*arguments: str) -> None:
        subprocess.run([SPHERE, *arguments], cwd=project, env=env, check=True, capture_output=True)

    sphere("feedback", "sync")
    after = _unknowns(ledger)
    sphere("send", SLUG, "--now", "--take-over", "--resend-unknown", "--rate", str(args.rate))
    finished = time.perf_counter() - killed_at
    mailed = Counter(_destination(m) for m in _accepted(endpoint, sender))
    return {
        "unknown_before": before,
        "unknown_after_sync": after,
        "unknown_after_resume": _unknowns(ledger),
        "mailed_twice": sum(1 for count in mailed.values() if count > 1),
        "never_mailed": len(set(ids) - set(mailed)),
        "kill_to_finished_s": finished,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--recipients", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100)
    args = parser.parse_args()
    rng = random.Random(19)  # when to kill: seeded, so rounds repeat
    rounds = []
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as folder:
        project = _project(Path(folder))
        for number in range(args.rounds):
            result = one_round(endpoint, project, args, rng)
            rounds.append(result)
            print(f"round {number + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in result.items()))
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        low, middle, high = min(values), statistics.median(values), max(values)
        print(f"{key}: min {low:.2f}, median {middle:.2f}, max {high:.2f}")


if __name__ == "__main__":
    main()
