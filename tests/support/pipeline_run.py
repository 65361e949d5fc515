"""The whole pipeline outside a cluster, for the integration tier (tests/test_pipeline_*.py) and
bench/pipeline_bench.py: ansible-playbook -i inventories/dev playbooks/site.yml --skip-tags bootstrap,argocd
runs build -> push -> overlay -> commit -> preview -> verify with real tools only:

- a copy of app/ (so a test may change it) built by the real Docker engine on the local base image,
- a real registry (support.registry) on 127.0.0.1, where the run pushes to a repository of its own, so that
  runs can share one registry,
- the gitops role's local bare GitOps repository under a temp work root,
- the preview role's podman kube play, and the verify role checking the preview over 127.0.0.1.

`snapshot()` captures everything a run could change, so a --check run can be compared byte for byte.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from verify_support import forget_in_podman

from .net import free_port
from .registry import Registry

ROOT = Path(__file__).resolve().parents[2]
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
                   r"failed=(?P<failed>\d+)", re.M)


def prepare_wheelhouse(cache: Path, python_version: str = "3.11") -> Path:
    """app/'s wheelhouse for the local base image's Python, made once per cache dir by app/build-wheelhouse."""
    wheels = cache / "wheels"
    if not wheels.is_dir():
        checkout = cache / "checkout"
        shutil.copytree(ROOT / "app", checkout / "app", ignore=shutil.ignore_patterns("wheels", "tests", "__pycache__"))
        shutil.copy(ROOT / "requirements.txt", checkout / "requirements.txt")
        subprocess.run([str(checkout / "app" / "build-wheelhouse"), "--python-version", python_version],
                       check=True, capture_output=True, text=True, timeout=600)
        shutil.move(str(checkout / "app" / "wheels"), wheels)
    return wheels


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def recap(self) -> dict:
        match = RECAP.search(self.stdout)
        assert match, f"no PLAY RECAP in the output:\n{self.stdout[-3000:]}\n{self.stderr[-2000:]}"
        return {key: int(value) for key, value in match.groupdict().items() if key != "host"}

    def failures(self) -> list[str]:
        """Each `fatal:` result of the run with its (YAML) body, whitespace folded to single spaces."""
        blocks, current = [], None
        for line in self.stdout.splitlines():
            if line.startswith("fatal:"):
                current = [line]
                blocks.append(current)
            elif current is not None and line.startswith(" "):
                current.append(line)
            else:
                current = None
        return [" ".join(" ".join(block).split()) for block in blocks]

    def summary_changed(self) -> list[str]:
        """The summary's `changed` list (the last summary task: site.yml's stages skip theirs)."""
        block = self.stdout.rsplit("TASK [Summary of the run]", 1)[1].split("PLAY RECAP", 1)[0]
        changed = re.split(r"\n\s+digest:", block.split("changed:", 1)[1], maxsplit=1)[0]
        return [line.strip()[2:].strip("'\"") for line in changed.splitlines() if line.strip().startswith("- ")]

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported `changed` (from the default callback's output)."""
        names, current = [], None
        for line in self.stdout.splitlines():
            if line.startswith("TASK ["):
                current = line[6:].split("]")[0]
            elif line.startswith("changed:") and current:
                names.append(current)
        return names


@dataclass
class PipelineRun:
    tmp: Path
    registry: Registry
    base_image: str
    wheels: Path
    repository: str = "app1"
    env_name: str = "dev"
    preview_port: int = field(default_factory=free_port)
    preview_metrics_port: int = field(default_factory=free_port)

    def __post_init__(self):
        self.checkout = self.tmp / "checkout"
        self.app = self.checkout / "app"
        shutil.copytree(ROOT / "app", self.app, ignore=shutil.ignore_patterns("wheels", "tests", "__pycache__"))
        shutil.copy(ROOT / "requirements.txt", self.checkout / "requirements.txt")
        shutil.copytree(self.wheels, self.app / "wheels")
        self.work_root = self.tmp / "work"
        self.work_dir = self.work_root / self.env_name
        self.docker_config = self.tmp / "docker-config"
        self.docker_config.mkdir(parents=True)
        # Docker and podman both read DOCKER_CONFIG; podman fails when the directory has no config.json.
        (self.docker_config / "config.json").write_text('{"auths": {}}\n')
        self.name_prefix = f"kindling-pipelinetest-{self.preview_port}"

    @property
    def gitops_remote(self) -> Path:
        return self.work_root / "gitops.git"  # the gitops role's default: next to the env work dirs

    def extra_vars(self) -> dict:
        return {
            "kindling_work_dir": str(self.work_dir),
            "image_context": str(self.app),
            "image_registry": self.registry.host,
            "image_repository": self.repository,
            "image_base": self.base_image,
            "image_base_pull": False,
            "image_wheelhouse_script": "",
            "image_commit": "0123abcd",
            "verify_expected_version": (self.app / "VERSION").read_text().strip(),
            "preview_expected_version": (self.app / "VERSION").read_text().strip(),
            # playbooks/vars/without_cluster.yml (passed too) with ports and a pod name of this run's own.
            "preview_name": self.name_prefix,
            "preview_ports": {"app": self.preview_port, "metrics": self.preview_metrics_port},
            "verify_direct_url": f"http://127.0.0.1:{self.preview_port}",
            "verify_direct_metrics_url": f"http://127.0.0.1:{self.preview_metrics_port}/metrics",
        }

    cwd = ROOT

    def environment(self, env: dict | None = None) -> dict:
        """The run's environment; env adds to (or, e.g. PATH, replaces) it."""
        return {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "DOCKER_CONFIG": str(self.docker_config),
                "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "KINDLING_REGISTRY_USERNAME": "", "KINDLING_REGISTRY_PASSWORD": "",
                "GITOPS_TOKEN": "", **(env or {})}

    def command(self, *args: str, playbook: str = "playbooks/site.yml", **extra) -> list[str]:
        """The ansible-playbook command line of run() (for a test that drives the process itself)."""
        variables = {**self.extra_vars(), **extra}
        return ["ansible-playbook", "-i", f"inventories/{self.env_name}", playbook,
                "--skip-tags", "bootstrap,argocd", "-e", "@playbooks/vars/without_cluster.yml",
                "-e", json.dumps(variables), *args]

    def run(self, *args: str, playbook: str = "playbooks/site.yml", env: dict | None = None, **extra) -> RunResult:
        """ansible-playbook with the cluster-less settings; env adds to (or, e.g. PATH, replaces) the environment."""
        proc = subprocess.run(self.command(*args, playbook=playbook, **extra),
                              cwd=self.cwd, env=self.environment(env), capture_output=True, text=True, timeout=900)
        return RunResult(proc.returncode, proc.stdout, proc.stderr)

    def run_script(self, *args: str, root: Path = ROOT, env: dict | None = None, **extra) -> RunResult:
        """`scripts/pipeline ENV ARGS...` as a user runs it (set-up first), with this run's extra vars last."""
        variables = {**self.extra_vars(), **extra}
        proc = subprocess.run([str(root / "scripts" / "pipeline"), self.env_name, *args, "-e", json.dumps(variables)],
                              cwd=root, env=self.environment(env), capture_output=True, text=True, timeout=900)
        return RunResult(proc.returncode, proc.stdout, proc.stderr)

    def change_app(self) -> None:
        """A one-line change to the app's source."""
        web = self.app / "app1" / "web.py"
        web.write_text(web.read_text() + "\n# one-line change for the pipeline test\n")

    # --- what a run can change -------------------------------------------------------------------
    @property
    def image_name(self) -> str:
        return f"{self.registry.host}/{self.repository}"

    def docker_images(self) -> list[str]:
        out = subprocess.run(["docker", "image", "ls", "--no-trunc", "--digests", "--format",
                              "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}", self.image_name],
                             capture_output=True, text=True, check=True).stdout
        return sorted(out.splitlines())

    def registry_state(self) -> dict:
        """{tag: digest} of this run's repository."""
        return {tag: self.registry.digest(self.repository, tag) for tag in self.registry.tags(self.repository)}

    @staticmethod
    def git_refs(repo: Path) -> list[str]:
        if not repo.exists():
            return []
        out = subprocess.run(["git", "--git-dir", str(repo if repo.suffix == ".git" else repo / ".git"), "for-each-ref",
                              "--format=%(refname) %(objectname)"], capture_output=True, text=True, check=True).stdout
        return out.splitlines()

    @staticmethod
    def file_hashes(top: Path) -> dict:
        return {str(path.relative_to(top)): hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(top.rglob("*")) if path.is_file() and not path.is_symlink()} if top.exists() else {}

    def preview_pods(self) -> list[str]:
        """The podman pods of this run's preview that exist now."""
        out = subprocess.run(["podman", "pod", "ps", "--format", "{{.Name}}"], capture_output=True, text=True).stdout
        return [name for name in out.split() if name.startswith(self.name_prefix)]

    def podman_state(self) -> list[str]:
        if shutil.which("podman") is None:
            return []
        containers = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}} {{.ImageID}} {{.State}}"],
                                    capture_output=True, text=True).stdout.splitlines()
        images = subprocess.run(["podman", "images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"],
                                capture_output=True, text=True).stdout.splitlines()
        return sorted(line for line in containers + images if self.name_prefix in line or self.image_name in line)

    # What a no-op run rewrites without changing any state: git's own bookkeeping of a fetch/reset of the
    # clone, and the verify role's report of the checks it ran again (timings). A --check run may not touch
    # even these (snapshot() keeps them unless asked).
    VOLATILE = ("gitops/.git/FETCH_HEAD", "gitops/.git/ORIG_HEAD", "gitops/.git/logs/", "/verify/report.json",
                "/verify/summary.txt")

    def snapshot(self, without_volatile: bool = False) -> dict:
        state = self._snapshot()
        if without_volatile:
            state["files_work_root"] = {path: digest for path, digest in state["files_work_root"].items()
                                        if not any(mark in "/" + path for mark in self.VOLATILE)}
        return state

    def _snapshot(self) -> dict:
        return {
            "docker_images": self.docker_images(),
            "registry": self.registry_state(),
            "git_refs_remote": self.git_refs(self.gitops_remote),
            "git_refs_clone": self.git_refs(self.work_dir / "gitops"),
            "files_work_root": self.file_hashes(self.work_root),
            "files_app": self.file_hashes(self.app),
            "podman": self.podman_state(),
        }

    def cleanup(self) -> None:
        if shutil.which("podman"):
            pods = subprocess.run(["podman", "pod", "ps", "--format", "{{.Name}}"], capture_output=True, text=True).stdout.split()
            for pod in pods:
                if pod.startswith(self.name_prefix):
                    subprocess.run(["podman", "pod", "rm", "-f", pod], capture_output=True)
            # The preview pulls by digest, so the images have no tag: each is this run's repository@digest.
            images = subprocess.run(["podman", "images", "--digests", "--format", "{{.Repository}} {{.Digest}}"],
                                    capture_output=True, text=True).stdout.splitlines()
            for line in images:
                repository, digest = line.split()
                if repository == self.image_name:
                    forget_in_podman(f"{repository}@{digest}")
        for line in self.docker_images():
            repository, tag = line.split()[:2]
            digest = line.split()[2]
            # By name, not by the ID identical builds of other tests share (see forget_in_podman).
            subprocess.run(["docker", "image", "rm", f"{repository}:{tag}" if tag != "<none>" else f"{repository}@{digest}"],
                           capture_output=True)
