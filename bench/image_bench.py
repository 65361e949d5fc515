#!/usr/bin/env python3
"""Benchmark of the build stage (roles/image) against the seed's image pattern, side by side in one run.

Measured on this machine, with the same local base image for both:
  - the image role (ansible-playbook, as the pipeline runs it) into a fresh registry on 127.0.0.1:
      cold build+push (no layer cache, empty registry), no-op re-run, app change -> pushed;
  - `docker build` (classic builder, --no-cache) of app/ and of the seed pattern (bench/seed: COPY . .,
    pip install inside the image, dev server as root): build time and image size.
Pip cannot reach PyPI from inside a container here, so the seed's `pip install` also reads a wheelhouse
(PIP_INSTALL_ARGS="--no-index --find-links wheels"); the seed itself installed from PyPI.

Also measured, as the floor of any playbook run here: ansible-playbook of an empty play (same inventory).
Usage: bench/image_bench.py [--repeat N] [--noop-only | --size-only] [--out bench/results/image.json]
  --noop-only: only the no-op re-run and the floor (after one warm-up build), for a quick check.
  --size-only: only the side-by-side `docker build`s of ours and the seed pattern (time and size), no role.
Needs: a Docker engine, docker-registry (Debian), the base image (scripts/services start), the project's .venv.
Cleans up what it makes: its images (kindling-imagebench/*, kindling-imagebench-seed:*), registries, temp dirs.
Dangling intermediate images of the --no-cache multi-stage builds stay (they cannot be told apart from
other builds' safely); `docker image prune` removes them when nothing else is building.
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
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.registry import Registry  # noqa: E402  (tests/support is the project's registry helper)

os.environ["PATH"] = os.pathsep.join([str(ROOT / ".tools" / "bin"), str(ROOT / ".venv" / "bin"), os.environ["PATH"]])
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
BASE_IMAGE = os.environ.get("KINDLING_BASE_IMAGE", "local/python:3.11-bookworm")
BASE_PYTHON = "3.11"

PLAYBOOK = """\
- name: Build stage
  hosts: localhost
  gather_facts: false
  vars_files: [{versions}]
  roles: [image]
"""
FLOOR_PLAYBOOK = """\
- name: Nothing, to measure ansible-playbook's own start-up here
  hosts: localhost
  gather_facts: false
  tasks: []
"""


def sh(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def image_size(ref):
    return int(sh("docker", "image", "inspect", "--format", "{{.Size}}", ref).stdout)


def layers(ref):
    return json.loads(sh("docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", ref).stdout)


class RoleBench:
    """The image role on a private copy of app/ (plus the top-level requirements.txt build-wheelhouse reads)."""

    def __init__(self, work):
        self.work = work
        self.checkout = work / "checkout"
        self.context = self.checkout / "app"
        shutil.copytree(ROOT / "app", self.context, ignore=shutil.ignore_patterns("wheels", "tests", "__pycache__"))
        shutil.copy(ROOT / "requirements.txt", self.checkout / "requirements.txt")
        self.playbook = work / "build.yml"
        self.playbook.write_text(PLAYBOOK.format(versions=ROOT / "versions.yml"))
        self.floor_playbook = work / "floor.yml"
        self.floor_playbook.write_text(FLOOR_PLAYBOOK)
        self.inventory = work / "hosts.yml"
        self.inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                                  "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
        self.repository = f"kindling-imagebench/{uuid.uuid4().hex[:10]}"
        self.registry = None

    def fresh_registry(self):
        if self.registry:
            self.registry.stop()
        self.registry = Registry(Path(tempfile.mkdtemp(dir=self.work, prefix="registry-"))).start()

    def run(self, **extra):
        variables = {"app_name": "app1", "image_context": str(self.context), "image_registry": self.registry.host,
                     "image_repository": self.repository, "image_base": BASE_IMAGE, "image_base_python": BASE_PYTHON,
                     "image_commit": "bench", **extra}
        proc = subprocess.run(["ansible-playbook", "-i", str(self.inventory), str(self.playbook),
                               "-e", json.dumps(variables)], cwd=ROOT, capture_output=True, text=True,
                              env=dict(os.environ, DOCKER_CONFIG=str(self.work / "docker-config")))
        if proc.returncode != 0:
            raise SystemExit(f"image role failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
        return proc.stdout

    def floor(self):
        sh("ansible-playbook", "-i", str(self.inventory), str(self.floor_playbook), cwd=ROOT)

    def local_refs(self):
        """This bench's images under every registry it pushed to (each cold run has a fresh one)."""
        out = sh("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout
        return [ref for ref in out.split() if ref.rsplit(":", 1)[0].endswith("/" + self.repository)]

    def remove_images(self):
        for ref in self.local_refs():
            subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True)

    def touch_app(self, n):
        init = self.context / "app1" / "__init__.py"
        init.write_text(init.read_text() + f"# bench change {n}\n")

    def close(self):
        self.remove_images()
        if self.registry:
            self.registry.stop()


def docker_build(context, tag, *build_args):
    args = ["docker", "build", "--no-cache", "--rm", "-q", "-t", tag]
    for arg in build_args:
        args += ["--build-arg", arg]
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    return timed(lambda: sh(*args, str(context), env=env))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (median reported)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--noop-only", action="store_true", help="only the no-op re-run and the empty-play floor")
    only.add_argument("--size-only", action="store_true",
                      help="only the side-by-side docker builds of ours and the seed pattern (time, size)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "image.json")
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    if subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode != 0:
        raise SystemExit(f"base image {BASE_IMAGE} is missing: run scripts/services start")

    work = Path(tempfile.mkdtemp(prefix="kindling-imagebench-"))
    role = RoleBench(work)
    seed_tag = f"kindling-imagebench-seed:{uuid.uuid4().hex[:10]}"
    ours_tag = f"kindling-imagebench-ours:{uuid.uuid4().hex[:10]}"
    figures = {"cold_build_push": [], "noop_rerun": [], "empty_play_floor": [], "app_change_pushed": [],
               "seed_docker_build": [], "ours_docker_build": []}
    sizes, shares_base, seed_user, ours_user = {}, {}, None, None
    try:
        # The seed pattern needs its own wheelhouse inside its context (COPY . . takes it along).
        seed = work / "seed"
        shutil.copytree(ROOT / "bench" / "seed", seed, ignore=shutil.ignore_patterns("wheels", "__pycache__"))
        sh(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
           "--python-version", BASE_PYTHON, "-c", str(ROOT / "requirements.txt"), "-r", str(seed / "requirements.txt"),
           "-d", str(seed / "wheels"))

        if args.noop_only:
            role.fresh_registry()
            role.run()
        elif args.size_only:
            # Without the role, the wheelhouse it would prepare is made here, as the role makes it.
            sh(str(role.context / "build-wheelhouse"), "--python-version", BASE_PYTHON)
        elif not args.size_only:
            for n in range(args.repeat):
                role.fresh_registry()
                role.remove_images()
                figures["cold_build_push"].append(timed(lambda: role.run(image_build_nocache=True)))
        # Alternating, so both see the same load.
        for n in range(0 if args.size_only else args.repeat + 2):
            figures["noop_rerun"].append(timed(role.run))
            figures["empty_play_floor"].append(timed(role.floor))
        if not args.noop_only:
            for n in range(0 if args.size_only else args.repeat):
                role.touch_app(n)
                figures["app_change_pushed"].append(timed(role.run))
            # Side by side: plain classic builds of both Dockerfiles on the same base, alternating.
            for n in range(args.repeat):
                figures["ours_docker_build"].append(docker_build(
                    role.context, ours_tag, f"BASE_IMAGE={BASE_IMAGE}", "VERSION=bench", "COMMIT=bench"))
                figures["seed_docker_build"].append(docker_build(
                    seed, seed_tag, f"BASE_IMAGE={BASE_IMAGE}", "PIP_INSTALL_ARGS=--no-index --find-links wheels"))
            sizes = {"base": image_size(BASE_IMAGE), "ours": image_size(ours_tag), "seed": image_size(seed_tag)}
            base_layers = layers(BASE_IMAGE)
            shares_base = {name: layers(tag)[:len(base_layers)] == base_layers
                           for name, tag in (("ours", ours_tag), ("seed", seed_tag))}
            seed_user = sh("docker", "image", "inspect", "--format", "{{.Config.User}}", seed_tag).stdout.strip() or "root"
            ours_user = sh("docker", "image", "inspect", "--format", "{{.Config.User}}", ours_tag).stdout.strip() or "root"
    finally:
        role.close()
        for tag in (seed_tag, ours_tag):
            subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    medians = {name: round(statistics.median(values), 2) for name, values in figures.items() if values}
    mb = {name: round(size / 1e6, 1) for name, size in sizes.items()}
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_at_start": load_at_start,
                    "load_at_end": os.getloadavg(),
                    "docker": sh("docker", "version", "--format", "{{.Server.Version}}").stdout.strip(),
                    "base_image": BASE_IMAGE},
        "repeat": args.repeat, "seconds_median": medians,
        "seconds_all": {k: [round(v, 2) for v in vs] for k, vs in figures.items() if vs},
        "targets": {"noop_rerun_le_5s": medians["noop_rerun"] <= 5.0} if "noop_rerun" in medians else {},
    }
    if sizes:
        report.update({
            "size_mb": mb,
            # Only an image built on the base's layers adds to it; ours (FROM scratch) shares none of them.
            "added_above_base_mb": {name: round(mb[name] - mb["base"], 1) if shares_base[name] else None
                                    for name in ("ours", "seed")},
            "user": {"ours": ours_user, "seed": seed_user},
        })
        report["targets"]["ours_le_half_seed_size"] = sizes["ours"] <= sizes["seed"] / 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
