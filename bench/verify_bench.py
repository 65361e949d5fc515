#!/usr/bin/env python3
"""What a full app_verify costs, against the cheapest possible probe, side by side in one run.

The real app (python -m app1) runs pinned to one core; the client is pinned to the other. In rounds:
  baseline  four plain urllib GETs (/health, /ready, /, /metrics), bodies read, nothing checked
  verify    app_verify's Verifier: the same four requests plus status, content type, JSON identity,
            metrics parsed with prometheus_client and the latency budget
The median time per run of each is reported, and their ratio. Goal: verify <= 3x baseline and <= 50 ms per
run, so retries every second during a rollout are cheap for the app and the controller.

    python bench/verify_bench.py [--runs 200] [--json bench/results/verify.json]

Needs taskset (util-linux) and 2 cores. Not a test: nothing here fails a build.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "collections"))
sys.path.insert(0, str(ROOT / "tests"))
from support.net import free_port  # noqa: E402
from ansible_collections.kindling.gitops.plugins.module_utils import app_verify  # noqa: E402

GOALS = {"ratio": 3.0, "verify_ms": 50.0}


def wait_ready(url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the app did not answer {url} within {timeout} s")


def timed(function, runs):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})  # the client on core 1, the app on core 0
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"), HOST="127.0.0.1", PORT=str(port),
               METRICS_PORT=str(metrics_port), ENVIRONMENT="dev", LOG_LEVEL="WARNING")
    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-m", "app1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"
        wait_ready(base + "/ready")
        version = (ROOT / "app" / "VERSION").read_text().strip()
        config = app_verify.build_config({
            "base_url": base, "metrics_url": metrics, "expected_app": "app1", "expected_environment": "dev",
            "expected_version": version, "latency_budget_ms": 500,
            # One timed request and no warm-up: the checks' own cost against four plain GETs. The default latency
            # sample (3 + 20 requests) costs what 23 plain GETs cost, by design.
            "latency_samples": 1, "latency_warmup": 0,
            "required_metrics": ["app_request_count_total", "app_request_latency_seconds",
                                 {"name": "app_build_info", "labels": {"version": version}}]})

        def baseline():
            for url in (base + "/health", base + "/ready", base + "/", metrics):
                with urllib.request.urlopen(url, timeout=5) as response:
                    response.read()

        def verify():
            result = app_verify.Verifier(config).run()
            assert result["ok"], result["failed"]

        baseline(), verify()  # warm both paths
        figures = {"baseline_ms": round(timed(baseline, args.runs), 2), "verify_ms": round(timed(verify, args.runs), 2)}
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures["ratio"] = round(figures["verify_ms"] / figures["baseline_ms"], 2)
    figures["machine"] = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    figures["runs"] = args.runs
    figures["goals_met"] = figures["ratio"] <= GOALS["ratio"] and figures["verify_ms"] <= GOALS["verify_ms"]
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
