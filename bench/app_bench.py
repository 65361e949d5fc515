#!/usr/bin/env python3
"""Benchmark app1 against the seed, side by side in one run: the seed on its dev server, and the seed's code
on app1's server.

Every candidate's server is pinned to one core and timed from start to its first 200 on /ready
(seeds: /health). Then, in rounds, wrk pinned to the other core (10 connections) loads /health and / of
each candidate in turn, and app1's /metrics with one connection (one scraper, with Prometheus 3's Accept
and Accept-Encoding headers; a flood of scrapes is not a workload Prometheus makes); the median round's
req/s, p50 and p99 are reported. With the server on one core, req/s is req/s per core. RSS is the summed
VmRSS of each server's process tree after the load. CPU us/req (user + system time of the server's
processes per request served) is the figure least moved by other load on the machine. The load average
is printed with the figures: the machine may be shared.
Candidates:
  app1          python -m app1 (what the image runs: granian's main process and one worker process, every
                request through Flask, counted, timed and logged as one JSON line)
  seed          bench/seed/app.py: the seed's two JSON routes on Flask's development server (its own log line
                per request, no metrics)
  seed-granian  the same bench/seed/app.py on app1's server (granian's CLI, one worker process, THREADS
                threads, no access log, no metrics): what app1's instrumentation costs
  app1-image    with --image TAG: the image users deploy (its Python, its venv, its server), run with
                `docker run --network host --cpuset-cpus <server core> --read-only --tmpfs /tmp`; its
                ready time includes creating and starting the container
Targets for app1: >= 4x the seed's req/s on / and /health, >= 90% of seed-granian's requests per core on
them (its instrumentation may cost at most a tenth), p99 <= 5 ms on them, RSS <= 96 MiB for all its
processes together, ready <= 1 s. Every request goes through Flask: nothing is cached or answered around it.

    python bench/app_bench.py [--duration 5] [--rounds 3] [--threads 4] [--image TAG] [--json bench/results/app.json]

Needs wrk and taskset (Debian: wrk, util-linux) and at least 2 cores. Not a test: nothing here fails a build.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.net import free_port  # noqa: E402

ROUTES = ("/health", "/", "/metrics")
# /metrics is loaded the way Prometheus 3 scrapes it: OpenMetrics preferred, gzip accepted.
SCRAPE_HEADERS = ("Accept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
                  "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;"
                  "q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
                  "Accept-Encoding: gzip")
TARGETS = {"ratio": 4.0, "of_bare": 0.9, "p99_ms": 5.0, "rss_mib": 96.0, "ready_s": 1.0}
CONNECTIONS = 10
SCRAPE_CONNECTIONS = 1
THREADS = "4"  # app1's default THREADS, given to seed-granian too (--threads)
SERVER_CORE, LOAD_CORE = "0", "1"


def candidates(threads=THREADS, image=None):
    python = sys.executable
    seed = ROOT / "bench" / "seed"
    found = {
        "app1": {"argv": [python, "-m", "app1"], "cwd": ROOT / "app", "ready": "/ready", "metrics": True},
        "seed": {"argv": [python, str(seed / "app.py")], "cwd": ROOT, "ready": "/health", "metrics": False},
        "seed-granian": {"argv": [python, "-m", "granian", "--interface", "wsgi", "--workers", "1",
                                  "--blocking-threads", threads, "--no-ws", "--host", "127.0.0.1", "--port", "{port}",
                                  "--working-dir", str(seed), "app:app"],
                         "cwd": seed, "ready": "/health", "metrics": False},
    }
    if image:
        # The environment the other candidates get from start(), passed into the container by name.
        found["app1-image"] = {
            "argv": ["docker", "run", "--rm", "--name", "{container}", "--network", "host", "--cpuset-cpus", SERVER_CORE,
                     "--read-only", "--tmpfs", "/tmp",
                     *(argument for variable in ("HOST", "PORT", "METRICS_PORT", "ENVIRONMENT", "THREADS")
                       for argument in ("-e", variable)), image],
            "cwd": ROOT, "ready": "/ready", "metrics": True, "container": True}
    return found


def start(candidate, threads=THREADS):
    """(process to stop, PID of the server's main process, port, metrics port, seconds to ready)."""
    port, metrics_port = free_port(), free_port()
    container = f"app-bench-{port}"
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), METRICS_PORT=str(metrics_port),
               ENVIRONMENT="bench", THREADS=threads,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "app"), os.environ.get("PYTHONPATH")])))
    argv = [argument.replace("{port}", str(port)).replace("{container}", container) for argument in candidate["argv"]]
    if not candidate.get("container"):
        argv = ["taskset", "-c", SERVER_CORE, *argv]  # a container gets its core from --cpuset-cpus
    started = time.perf_counter()
    # app1 logs every request as JSON on stdout, the dev server its own line on stderr: sent nowhere.
    # A session of its own, so a kill reaches granian's worker process too.
    process = subprocess.Popen(argv, cwd=candidate["cwd"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}{candidate['ready']}"
    deadline = started + 15
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.perf_counter() > deadline:
            stop(process, candidate, container)
            raise RuntimeError(f"{' '.join(argv)} did not get ready")
        time.sleep(0.005)
    ready_s = time.perf_counter() - started
    server_pid = process.pid
    if candidate.get("container"):
        # The container's first process as the host sees it: granian's main process, the worker its child.
        server_pid = int(subprocess.run(["docker", "inspect", "--format", "{{.State.Pid}}", container],
                                        capture_output=True, text=True, check=True).stdout)
    return process, server_pid, port, metrics_port, ready_s, container


def stop(process, candidate, container):
    if candidate.get("container"):
        subprocess.run(["docker", "rm", "--force", container], capture_output=True)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of it
    except ProcessLookupError:
        pass


def process_tree(pid):
    pids, found = [pid], []
    while pids:
        current = pids.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text(encoding="utf-8").split()
        except OSError:
            continue
        found.append(current)
        pids.extend(int(child) for child in children)
    return found


def tree_rss_kib(pid):
    total = 0
    for member in process_tree(pid):
        status = Path(f"/proc/{member}/status").read_text(encoding="utf-8")
        total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return total


def tree_cpu_seconds(pid):
    """User + system CPU time of the server's processes: unlike req/s, barely moved by other load."""
    ticks = 0
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text(encoding="utf-8").rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url, duration):
    scrape = url.endswith("/metrics")
    headers = SCRAPE_HEADERS if scrape else ()
    connections = SCRAPE_CONNECTIONS if scrape else CONNECTIONS
    command = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
               *(argument for header in headers for argument in ("-H", header)), url]
    out = subprocess.run(command,
                         capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    requests = re.search(r"^\s+(\d+) requests in", out, re.M)
    if not rps or not requests or set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"cannot read wrk's output for {url}:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {"rps": float(rps.group(1)), "requests": int(requests.group(1)),
            "p50_ms": to_ms(percentiles["50"]), "p99_ms": to_ms(percentiles["99"]),
            "errors": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def to_ms(value):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def median_run(runs):
    """The run with the median req/s (its p50/p99 go with it); errors summed over all runs."""
    ordered = sorted(runs, key=lambda run: run["rps"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["errors"] = sum(run["errors"] for run in runs)
    chosen["cpu_us"] = sorted(run["cpu_us"] for run in runs)[len(runs) // 2]
    chosen["socket_errors"] = "; ".join(run["socket_errors"] for run in runs if run["socket_errors"])
    return chosen


def measure_all(found, duration, rounds, threads=THREADS):
    """All candidates run at once; each round loads every route of every candidate in turn, so a busy
    moment on the machine hits the candidates alike instead of whichever happened to run then."""
    servers, pids, results = {}, {}, {}
    try:
        for name, candidate in found.items():
            process, pids[name], port, metrics_port, ready_s, container = start(candidate, threads)
            servers[name] = process, container
            results[name] = {"ready_s": round(ready_s, 3), "runs": {}, "urls": {
                route: f"http://127.0.0.1:{metrics_port if route == '/metrics' else port}{route}"
                for route in ROUTES if route != "/metrics" or candidate["metrics"]}}
        for result in results.values():
            for url in result["urls"].values():
                wrk(url, 1)  # warm-up: first-request costs out of the figures
        for round_number in range(1, rounds + 1):
            for route in ROUTES:
                for name, result in results.items():
                    if route in result["urls"]:
                        cpu_before = tree_cpu_seconds(pids[name])
                        run = wrk(result["urls"][route], duration)
                        cpu = tree_cpu_seconds(pids[name]) - cpu_before
                        run["cpu_us"] = round(cpu / max(run["requests"], 1) * 1e6, 1)
                        result["runs"].setdefault(route, []).append(run)
                        print(f"bench: round {round_number} {name:13} {route:8} {run['rps']:>8.0f} req/s", flush=True)
        for name, result in results.items():
            result["rss_mib"] = round(tree_rss_kib(pids[name]) / 1024, 1)
            result["routes"] = {route: median_run(runs) for route, runs in result.pop("runs").items()}
            del result["urls"]
    finally:
        for process, _container in servers.values():
            process.terminate()  # docker run passes it on to the container
        for name, (process, container) in servers.items():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            stop(process, found[name], container)
    return results


def machine():
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text(encoding="utf-8"))
    return {"cpu": cpu.group(1) if cpu else platform.processor(), "cores": os.cpu_count(),
            "kernel": platform.release(), "python": platform.python_version(),
            "os": platform.freedesktop_os_release().get("PRETTY_NAME", "")}


def load_average():
    return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])


def report(results, info):
    seed = results["seed"]
    print(f"\nmachine: {info['cpu']}, {info['cores']} cores, {info['os']}, kernel {info['kernel']}, "
          f"Python {info['python']}; load average {info['load_before']} before, {info['load_after']} after")
    print(f"server on core {SERVER_CORE}, wrk on core {LOAD_CORE}, {CONNECTIONS} connections "
          f"(/metrics: {SCRAPE_CONNECTIONS}), THREADS={info['threads']}\n")
    # Per core: the seed's CPU per request over the candidate's; "of bare": the same against the seed's code
    # on app1's server (seed-granian), i.e. what share of the bare framework's per-core rate is kept.
    bare = results["seed-granian"]
    print(f"{'candidate':13} {'route':8} {'req/s':>8} {'x seed':>7} {'CPU us/req':>10} {'x seed/core':>11} "
          f"{'of bare':>7} {'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8} {'ready s':>8}")
    for name, result in results.items():
        for route, figures in result["routes"].items():
            base, bare_figures = seed["routes"].get(route), bare["routes"].get(route)
            ratio = f"{figures['rps'] / base['rps']:.2f}" if base and name != "seed" else "-"
            per_core = f"{base['cpu_us'] / figures['cpu_us']:.2f}" if base and name != "seed" else "-"
            of_bare = (f"{bare_figures['cpu_us'] / figures['cpu_us']:.0%}" if bare_figures and name.startswith("app1")
                       else "-")
            print(f"{name:13} {route:8} {figures['rps']:>8.0f} {ratio:>7} {figures['cpu_us']:>10.0f} {per_core:>11} "
                  f"{of_bare:>7} {figures['p50_ms']:>7.2f} {figures['p99_ms']:>7.2f} {result['rss_mib']:>8.1f} "
                  f"{result['ready_s']:>8.3f}")
    app = results["app1"]
    served = ("/", "/health")
    checks = {
        f"/ and /health >= {TARGETS['ratio']:g}x seed req/s":
            all(app["routes"][r]["rps"] >= TARGETS["ratio"] * seed["routes"][r]["rps"] for r in served),
        f"/ and /health >= {TARGETS['of_bare']:.0%} of seed-granian's requests per core (CPU per request)":
            all(results["seed-granian"]["routes"][r]["cpu_us"] >= TARGETS["of_bare"] * app["routes"][r]["cpu_us"]
                for r in served),
        f"p99 <= {TARGETS['p99_ms']:g} ms on / and /health at {CONNECTIONS} connections":
            all(app["routes"][r]["p99_ms"] <= TARGETS["p99_ms"] for r in served),
        f"RSS <= {TARGETS['rss_mib']:g} MiB (all processes)": app["rss_mib"] <= TARGETS["rss_mib"],
        f"ready <= {TARGETS['ready_s']:g} s": app["ready_s"] <= TARGETS["ready_s"],
        "no errors under load": all(f["errors"] == 0 and not f["socket_errors"] for f in app["routes"].values()),
    }
    print("\napp1 targets:")
    for label, met in checks.items():
        print(f"  {'met    ' if met else 'MISSED '} {label}")
    return checks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per route (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of load; the median is reported (default 3)")
    parser.add_argument("--threads", default=THREADS, help=f"THREADS for app1 and seed-granian (default {THREADS})")
    parser.add_argument("--image", help="also run this app1 image (built from app/Dockerfile) as app1-image")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    missing = [tool for tool in ("wrk", "taskset", *(("docker",) if args.image else ())) if shutil.which(tool) is None]
    if missing or (os.cpu_count() or 1) < 2:
        sys.exit(f"bench: needs wrk and taskset on PATH and 2 cores (missing: {', '.join(missing) or 'a second core'})")
    info = machine()
    info["load_before"] = load_average()
    info["threads"] = args.threads
    results = measure_all(candidates(args.threads, args.image), args.duration, args.rounds, args.threads)
    info["load_after"] = load_average()
    checks = report(results, info)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "results": results, "targets_met": checks}, indent=2))
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
