"""Pace: the token bucket's promise (never more than `rate` sends in any second), its slowing
down on throttling and slow recovery, and jittered backoff. A fake clock stands in for time."""

from __future__ import annotations

import random

from fixtures_clock import ManualClock

from sphere.send.pace import TokenBucket, backoff


def _busiest_second(times: list[float]) -> int:
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


def test_no_second_holds_more_than_the_rate_even_after_a_pause() -> None:
    fake = ManualClock(1000.0)
    bucket = TokenBucket(10, clock=fake)
    times = []
    for n in range(200):
        if n % 25 == 0:
            fake.time += 0.3  # a pause between batches
        bucket.acquire()
        times.append(fake.time)
    assert _busiest_second(times) <= 10
    assert 9.0 <= (len(times) - 1) / (times[-1] - times[0]) <= 10.0


def test_throttling_halves_the_rate_and_it_recovers_slowly() -> None:
    fake = ManualClock(1000.0)
    bucket = TokenBucket(20, clock=fake)
    bucket.slow_down()
    bucket.slow_down()
    assert bucket.rate == 5
    for _ in range(10):
        bucket.recover()
    assert 5 < bucket.rate < 10  # a little with each accepted message
    for _ in range(1000):
        bucket.recover()
    assert bucket.rate == 20  # never above what was asked for


def test_no_rate_means_no_waiting() -> None:
    fake = ManualClock(1000.0)
    bucket = TokenBucket(0, clock=fake)
    for _ in range(1000):
        bucket.acquire()
    assert fake.time == 1000.0


def test_backoff_grows_is_capped_and_is_jittered() -> None:
    rng = random.Random(7)
    waits = [[backoff(attempt, rng=rng) for _ in range(200)] for attempt in range(10)]
    assert all(0 <= w <= 0.5 * 2**a for a, row in enumerate(waits) for w in row)
    assert max(max(row) for row in waits) <= 30.0
    assert len({round(w, 6) for w in waits[3]}) > 150  # spread, not in lockstep
    assert sum(waits[5]) / 200 > sum(waits[1]) / 200
