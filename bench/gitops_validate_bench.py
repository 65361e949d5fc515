"""Benchmark: what offline validation costs on top of rendering, for app1's prod overlay.

Baseline and candidate run side by side in the same process, alternating, on the same overlay:
  baseline  `kubectl kustomize` alone (what a pipeline without validation runs)
  candidate kindling.gitops' validation: render + strict Kubernetes schemas + CRD schemas + semantic checks
The prod overlay is made by the real gitops role into a temp dir first.
Usage: .venv/bin/python bench/gitops_validate_bench.py [ROUNDS]   (prints a Markdown table; writes bench/results/)
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.kindling.gitops.plugins.module_utils import kustomize_validate  # noqa: E402

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  roles: [gitops]
"""
IMAGE = {"registry": "localhost:5001", "repository": "app1", "tag": "1.0.0-0123456789ab",
         "digest": "sha256:" + "0d2b4c6e8f0a1c3e" * 4, "ref": "unused"}


def make_overlay(work):
    playbook = work / "play.yml"
    playbook.write_text(PLAYBOOK)
    subprocess.run(["ansible-playbook", "-i", str(ROOT / "inventories" / "prod"), str(playbook), "-e",
                    json.dumps({"kindling_work_dir": str(work / ".work" / "prod"), "kindling_image": IMAGE,
                                "gitops_validate": False})],
                   cwd=ROOT, check=True, capture_output=True, env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
    return work / ".work" / "prod" / "gitops" / "apps" / "app1" / "overlays" / "prod"


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    # The tests' reference data, looked up as they look it up (KINDLING_REFERENCE_DIR, .cache/reference, ../shared).
    sys.path.insert(0, str(ROOT / "tests"))
    from support.reference import reference as reference_data
    from support.shared_values import KUBERNETES_VERSION
    found, _why_not = reference_data.resolve(ROOT)
    crd_paths = [str(found / "crds")] if found else []
    with tempfile.TemporaryDirectory(prefix="kindling-bench-gitops-") as tmp:
        overlay = str(make_overlay(Path(tmp)))
        baseline, candidate = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run(["kubectl", "kustomize", overlay], check=True, capture_output=True)
            baseline.append(time.perf_counter() - start)
            start = time.perf_counter()
            objects, findings = kustomize_validate.validate_directory(overlay, KUBERNETES_VERSION, crd_paths=crd_paths)
            candidate.append(time.perf_counter() - start)
    assert not kustomize_validate.has_errors(findings), findings
    machine = f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    rows = [("kubectl kustomize (baseline)", baseline), (f"render + validate {len(objects)} objects"
                                                          f"{' + CRDs' if crd_paths else ''}", candidate)]
    lines = [f"gitops validation benchmark, {rounds} rounds, {machine}", "",
             "| run | median s | min s |", "|---|---|---|"]
    lines += [f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} |" for name, times in rows]
    lines.append(f"\nvalidation adds {statistics.median(candidate) - statistics.median(baseline):.3f} s "
                 f"(median) to rendering")
    text = "\n".join(lines)
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "gitops_validate.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
