#!/usr/bin/env python
"""Load generator of the ``exchange`` suite: run with one side's environment (its data
directory / database), it calls ``echo`` of PEER with THREADS threads for SECONDS seconds
through ``exchange.client.call`` — signed, the answer's signature checked, both messages in
this side's log (the server logs them in its own) — and prints one JSON line of counts and
latencies."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("peer")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--body", type=int, default=300, help="bytes of JSON per request")
    parser.add_argument("--start-at", type=float, default=0, help="epoch seconds to start")
    parser.add_argument("--profile", default="", help="cProfile (thread CPU) of one thread here")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ansinh.settings")
    import django

    django.setup()
    from django.db import connection

    from ansinh.exchange import client, selectors

    peer = selectors.get_peer(args.peer)
    body = json.dumps({"personal_id": "001090000001", "pad": "x" * max(0, args.body - 40)})
    payload = body.encode()
    lock = threading.Lock()
    latencies: list[float] = []
    failures: dict[str, int] = {}
    # Warm up (connections, the servers' lazy imports), then start together with the other side.
    for _ in range(3):
        client.call(peer, "echo", payload)
    if args.start_at:
        time.sleep(max(0.0, args.start_at - time.time()))
    begin = time.perf_counter() + args.warmup
    end = begin + args.seconds

    def worker(profile: str = "") -> None:
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.thread_time)
            profiler.enable()
        mine: list[float] = []
        bad: dict[str, int] = {}
        while True:
            t0 = time.perf_counter()
            if t0 >= end:
                break
            result = client.call(peer, "echo", payload)
            t1 = time.perf_counter()
            if t0 >= begin:
                if result.ok and result.body == payload:
                    mine.append((t1 - t0) * 1000)
                else:
                    bad[result.outcome] = bad.get(result.outcome, 0) + 1
        connection.close()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        with lock:
            latencies.extend(mine)
            for k, v in bad.items():
                failures[k] = failures.get(k, 0) + v

    threads = [
        threading.Thread(target=worker, args=(args.profile if i == 0 else "",))
        for i in range(args.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()

    def pct(q: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))], 1)

    print(
        json.dumps(
            {
                "ok": len(latencies),
                "failed": failures,
                "seconds": args.seconds,
                "per_s": round(len(latencies) / args.seconds, 1),
                "p50_ms": pct(50),
                "p99_ms": pct(99),
            }
        )
    )


if __name__ == "__main__":
    main()
