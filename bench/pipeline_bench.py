#!/usr/bin/env python3
"""Wall time of the whole pipeline run that works here (build -> push -> overlay -> commit -> preview ->
verify: playbooks/site.yml --skip-tags bootstrap,argocd, see tests/support/pipeline_run.py), side by side
with the seed pipeline's way of shipping the same change, measured in the same run on the same machine.

Scenarios (each --rounds times on a fresh registry, work root and app copy; the median is reported):
  empty      ansible-playbook of an empty play with the same inventory, extra vars and configuration: the floor
             Ansible itself sets on this machine, measured in the same round
  cold       first run: empty registry, no GitOps repository, no release records (Docker's layer cache as it is)
  noop       the same run again, nothing changed                                    target <= 6 s
  change     after a one-line change in app/app1/web.py: image built and pushed, overlay committed,
             preview running the new digest and verified                           target <= 20 s
  seed       the seed's pipeline for the same one-line change: `docker build` of bench/seed (COPY . . then
             pip install inside the image) and `docker push :latest` - no overlay, no preview, no verification

    python bench/pipeline_bench.py [--rounds 3] [--json bench/results/pipeline.json]

Needs what the integration tier needs (scripts/services start: Docker, docker-registry, podman with
CONTAINERS_CONF, the local base image) and PyPI for the wheelhouses. Not a test: nothing here fails a build.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.pipeline_run import PipelineRun, prepare_wheelhouse  # noqa: E402
from support.registry import Registry  # noqa: E402

TARGETS = {"noop": 6.0, "change": 20.0}


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def pipeline_round(tmp: Path, base_image: str, wheels: Path) -> dict:
    registry = Registry(tmp / "registry").start()
    run = PipelineRun(tmp / "run", registry, base_image, wheels)
    try:
        empty = tmp / "empty.yml"
        empty.write_text(json.dumps([{"name": "Nothing", "hosts": "build", "gather_facts": False, "tasks": []}]))
        seconds, result = timed(lambda: run.run(playbook=str(empty)))
        if result.returncode != 0:
            raise SystemExit(f"the empty playbook failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
        figures = {"empty": seconds}
        for scenario in ("cold", "noop", "change"):
            if scenario == "change":
                run.change_app()
            seconds, result = timed(run.run)
            if result.returncode != 0:
                raise SystemExit(f"{scenario} run failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
            figures[scenario] = seconds
            figures[f"{scenario}_changed"] = result.recap["changed"]
        return figures
    finally:
        run.cleanup()
        registry.stop()


def seed_round(tmp: Path, base_image: str) -> float:
    """The seed's build-and-push of a one-line change, on a registry of its own."""
    registry = Registry(tmp / "seed-registry").start()
    context = tmp / "seed"
    shutil.copytree(ROOT / "bench" / "seed", context, ignore=shutil.ignore_patterns("wheels", "__pycache__", "README.md"))
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "-c", str(ROOT / "requirements.txt"),
                    "-r", str(context / "requirements.txt"), "-d", str(context / "wheels")], check=True, timeout=600)
    image = f"{registry.host}/app1:latest"
    build = ["docker", "build", "--quiet", "--build-arg", f"BASE_IMAGE={base_image}",
             "--build-arg", "PIP_INSTALL_ARGS=--no-index --find-links wheels", "-t", image, str(context)]
    env = {**os.environ, "DOCKER_CONFIG": str(tmp / "seed-docker-config")}
    try:
        subprocess.run(build, check=True, capture_output=True, env=env)  # warm, as the seed's CI runner was
        subprocess.run(["docker", "push", "--quiet", image], check=True, capture_output=True, env=env)
        (context / "app.py").write_text((context / "app.py").read_text() + "\n# one-line change for the benchmark\n")
        seconds, _ = timed(lambda: (subprocess.run(build, check=True, capture_output=True, env=env),
                                    subprocess.run(["docker", "push", "--quiet", image], check=True, capture_output=True, env=env)))
        return seconds
    finally:
        subprocess.run(["docker", "image", "rm", "-f", image], capture_output=True)
        registry.stop()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True).stdout.strip()
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, Docker {docker}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    base_image = os.environ.get("KINDLING_BASE_IMAGE", "local/python:3.11-bookworm")
    if "CONTAINERS_CONF" not in os.environ:
        print("pipeline_bench: run `eval \"$(scripts/services start)\"` first (podman needs CONTAINERS_CONF)", file=sys.stderr)
        return 2
    rounds = []
    with tempfile.TemporaryDirectory(prefix="kindling-pipeline-bench-") as tmp_name:
        tmp = Path(tmp_name)
        wheels = prepare_wheelhouse(tmp / "wheelhouse")
        for number in range(args.rounds):
            round_dir = tmp / f"round-{number}"
            figures = pipeline_round(round_dir, base_image, wheels)
            figures["seed"] = seed_round(round_dir, base_image)
            rounds.append(figures)
            print(f"round {number + 1}: " + ", ".join(f"{k} {v:.1f} s" for k, v in figures.items() if not k.endswith("_changed")),
                  flush=True)
    median = {key: statistics.median(r[key] for r in rounds) for key in ("empty", "cold", "noop", "change", "seed")}
    changed = {key: rounds[-1][f"{key}_changed"] for key in ("cold", "noop", "change")}
    print(f"\nmachine: {machine()}; {args.rounds} rounds, median wall time")
    print("| scenario | wall time | changed tasks | target |\n|---|---|---|---|")
    for key, label in (("empty", "empty playbook, same inventory (Ansible's own floor)"), ("cold", "cold run"), ("noop", "no-op re-run"), ("change", "one-line app change -> verified preview"),
                       ("seed", "seed pipeline: build + push :latest of the same change (no deploy)")):
        target = f"<= {TARGETS[key]:.0f} s ({'met' if median[key] <= TARGETS[key] else 'MISSED'})" if key in TARGETS else ""
        print(f"| {label} | {median[key]:.1f} s | {changed.get(key, '')} | {target} |")
    print(f"\nno-op above the empty playbook: {median['noop'] - median['empty']:.1f} s; "
          f"change above it: {median['change'] - median['empty']:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "rounds": rounds, "median": median}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
