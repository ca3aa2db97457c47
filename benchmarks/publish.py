"""`sphere publish` with nothing to do, on a site of 200 issues, against moto's S3.

Run with `uv run python benchmarks/publish.py [ROUNDS]`. Every issue is published and its
campaign complete (the setup deploys once and records each campaign as complete, as a real
publish does after a send), so publish must upload nothing and send nothing. Two cases, in
interleaved rounds: nothing due (SPHERE_TODAY), and what most hourly runs of publish.yml
meet on an issue's day, the issue waiting for its send time (SPHERE_NOW three hours before
it). The project has a welcome email and 300 subscribers welcomed already. Two figures for
each:

- wall time of the real command (`sphere publish`, a fresh process: start-up, check, build
  from the cache, deploy plan, what is due), min and median over the rounds;
- S3 requests one such run makes, by operation (counted in-process on every boto3 client
  `sphere.store.aws` hands out): the target is listings, never one request per file.

And what the send time adds to every deploy: the look-up of today's issues waiting for their
send time (`sphere.schedule.waiting`, which loads every issue once more), min and median.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
ISSUES = 200
WELCOMED = 300  # subscribers whose welcome went out (one record each, kept for good)
TODAY = "2026-12-01"
WAITING = "2026-12-02"  # one more issue's date: scheduled on TODAY, waiting in the second case
CASES = {
    "nothing due": {"SPHERE_TODAY": TODAY},
    "an issue waiting for its send time": {
        "SPHERE_NOW": f"{WAITING}T06:00:00Z",
        "SPHERE_SEND_TIME": "09:00",
    },
}

COUNT_REQUESTS = """
import collections, contextlib, io, json, sys
import sphere.store.aws as aws
made = collections.Counter()
real = aws.client
def counting(service, **options):
    client = real(service, **options)
    client.meta.events.register(
        "before-call", lambda model, **_: made.update([f"{service}:{model.name}"])
    )
    return client
aws.client = counting
from sphere.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(["--root", sys.argv[1], "publish", "--json"], prog_name="sphere")
    except SystemExit as stop:
        assert not stop.code, stop.code
report = json.loads(out.getvalue())
print(json.dumps({"requests": dict(made), "uploads": len(report["deploy"]["upload"]),
                  "sent": len(report["sent"])}))
"""


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[1:])} failed: {done.stderr}")
    return done


def setup(folder: Path, env: dict[str, str]) -> None:
    """200 published issues: deployed once, every campaign recorded as complete."""
    import datetime as dt

    from _synthetic import make_project
    from fixtures_project import write_issue

    from sphere.records import mark_complete
    from sphere.settings import load_settings
    from sphere.store.blobs import open_store

    issues = make_project(folder, ISSUES, start=dt.date(1993, 1, 1))
    shutil.copytree(ROOT / "content" / "images", folder / "content" / "images", dirs_exist_ok=True)
    _run([sys.executable, "-m", "sphere", "--root", str(folder), "-q", "deploy"], env)
    store = open_store(load_settings(folder, env=env))
    for issue in issues:
        mark_complete(store, str(issue["slug"]), ids=["a-reader"], counts={"accepted": 1})
    write_issue(folder, f"{WAITING}-waiting", title="Waiting", date=WAITING)
    # The welcome email, and WELCOMED readers welcomed long ago: a run must not read them.
    shutil.copy(ROOT / "content" / "welcome.md", folder / "content" / "welcome.md")
    sent = json.dumps({"state": "sent", "at": "2026-01-01T00:00:00Z", "tries": 1}).encode()
    for number in range(WELCOMED):
        store.put(f"welcome/reader-{number:04d}.json", sent)


def main() -> None:
    from fixtures_aws import AWS_TEST_ENV, moto_server

    from sphere.store import aws

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **AWS_TEST_ENV, "AWS_ENDPOINT_URL": endpoint, "SPHERE_TODAY": TODAY}
        env.pop("SPHERE_NOW", None)
        os.environ.update(env)
        buckets = [f"bench-{name}-{secrets.token_hex(4)}" for name in ("site", "data")]
        for bucket in buckets:
            aws.client("s3").create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={
                    "LocationConstraint": AWS_TEST_ENV["AWS_DEFAULT_REGION"]
                },
            )
        env.update(SPHERE_SITE=f"s3://{buckets[0]}/", SPHERE_STORE=f"s3://{buckets[1]}/sphere")
        os.environ.update(env)
        folder = Path(tmp) / "newsletter"
        setup(folder, env)
        command = [sys.executable, "-m", "sphere", "--root", str(folder), "publish"]
        times: dict[str, list[float]] = {case: [] for case in CASES}
        last: dict[str, str] = {}
        for _ in range(rounds):
            for case, extra in CASES.items():
                started = time.perf_counter()
                done = _run(command, _case_env(env, extra))
                times[case].append(time.perf_counter() - started)
                last[case] = done.stdout
        counted = {case: _count(folder, _case_env(env, extra)) for case, extra in CASES.items()}
        looked_up = _time_waiting(
            folder, _case_env(env, CASES["an issue waiting for its send time"]), rounds
        )
    print(f"sphere publish with nothing to send, {ISSUES} issues, moto S3 ({rounds} rounds):")
    for case, found in times.items():
        figures = json.loads(counted[case].stdout)
        print(f"- {case}:")
        print(f"  wall time: min {min(found):.2f} s, median {statistics.median(found):.2f} s")
        print(f"  last output: {last[case].strip().splitlines()}")
        total = sum(figures["requests"].values())
        print(f"  AWS requests: {total} ({figures['uploads']} uploads, {figures['sent']} sends)")
        for operation, count in sorted(figures["requests"].items()):
            print(f"    {operation}: {count}")
    print(
        f"- the send-time look-up alone (schedule.waiting, {ISSUES + 1} issues): "
        f"min {min(looked_up) * 1000:.1f} ms, median {statistics.median(looked_up) * 1000:.1f} ms"
    )


def _time_waiting(folder: Path, env: dict[str, str], rounds: int) -> list[float]:
    """Seconds `schedule.waiting` takes, in this process, `rounds` times."""
    from sphere.schedule import waiting
    from sphere.settings import load_settings

    settings = load_settings(folder, env=env)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        found = list(waiting(settings))
        times.append(time.perf_counter() - started)
        if found != ["waiting"]:
            raise SystemExit(f"schedule.waiting found {found}, not the waiting issue")
    return times


def _count(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One more run, counting its AWS requests in-process."""
    command = [sys.executable, "-c", COUNT_REQUESTS, str(folder)]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True)


def _case_env(env: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """`env` with one case's clock: SPHERE_TODAY and SPHERE_NOW are never set together."""
    clean = {key: value for key, value in env.items() if key != "SPHERE_TODAY"}
    return {**clean, **extra}


if __name__ == "__main__":
    main()
