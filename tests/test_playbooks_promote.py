"""promote.yml deploys only a digest the previous environment verified (its release/verified.json).
The refusal logic (playbooks/tasks/promotion.yml) runs here for real in a one-task playbook; the whole
promote.yml (render + commit of the promoted digest) runs in test_promote_commits_exactly_the_verified_digest,
and deploy.yml's sequence, which promote.yml runs too, shows its hand-edit report and preview here."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from doubles.k8s_api import KubeAPIDouble

ROOT = Path(__file__).resolve().parent.parent
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def verified_record(env: str, digest: str, verified: bool = True) -> dict:
    return {"env": env, "verified": verified, "commit": "1" * 40, "report_path": f"/x/{env}/verify/report.json",
            "image": {"registry": "localhost:5001", "repository": "app1", "tag": "1.0.0-abcdefabcdef",
                      "digest": digest, "ref": f"localhost:5001/app1@{digest}"}}


@pytest.fixture
def work_root(tmp_path):
    root = tmp_path / "work"
    for env in ("dev", "qa", "prod"):
        (root / env).mkdir(parents=True)
    return root


def write_record(work_root: Path, env: str, record: dict) -> None:
    (work_root / env / "release").mkdir(exist_ok=True)
    (work_root / env / "release" / "verified.json").write_text(json.dumps(record))


def choose(work_root: Path, target: str, tmp_path: Path, **extra) -> subprocess.CompletedProcess:
    """Runs the real promotion tasks for `target`; the image they choose is written to chosen.json."""
    playbook = tmp_path / "choose.yml"
    playbook.write_text(f"""---
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.import_tasks: {ROOT}/playbooks/tasks/promotion.yml
    - ansible.builtin.copy:
        content: "{{{{ kindling_image | to_json }}}}"
        dest: {tmp_path}/chosen.json
        mode: "0600"
""")
    variables = {"kindling_env": target, "kindling_work_dir": str(work_root / target), "promote_digest": "", **extra}
    return subprocess.run(["ansible-playbook", "-i", "inventories/dev/hosts.yml", str(playbook), "-e", json.dumps(variables)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "ANSIBLE_FORCE_COLOR": "0"})


def chosen(result, tmp_path) -> dict:
    assert result.returncode == 0, result.stdout[-3000:]
    return json.loads((tmp_path / "chosen.json").read_text())


def test_promotes_the_digest_dev_verified_into_qa(work_root, tmp_path):
    write_record(work_root, "dev", verified_record("dev", DIGEST_A))
    image = chosen(choose(work_root, "qa", tmp_path), tmp_path)
    assert image["digest"] == DIGEST_A and image["ref"].endswith("@" + DIGEST_A)


def test_accepts_the_verified_digest_when_named(work_root, tmp_path):
    write_record(work_root, "qa", verified_record("qa", DIGEST_B))
    assert chosen(choose(work_root, "prod", tmp_path, promote_digest=DIGEST_B), tmp_path)["digest"] == DIGEST_B


@pytest.mark.parametrize("case", ["other digest", "no record", "not verified", "record of another env"])
def test_refuses_a_digest_that_was_not_verified(work_root, tmp_path, case):
    if case == "other digest":
        write_record(work_root, "dev", verified_record("dev", DIGEST_A))
    elif case == "not verified":
        write_record(work_root, "dev", verified_record("dev", DIGEST_B, verified=False))
    elif case == "record of another env":
        write_record(work_root, "dev", verified_record("qa", DIGEST_B))
    result = choose(work_root, "qa", tmp_path, promote_digest=DIGEST_B)
    assert result.returncode != 0
    assert "promote_digest" in result.stdout and "was not verified in dev" in result.stdout
    assert not (tmp_path / "chosen.json").exists()


@pytest.mark.parametrize("target, source", [("qa", "qa"), ("prod", "dev"), ("dev", "")])
def test_refuses_to_skip_or_reverse_a_step(work_root, tmp_path, target, source):
    for env in ("dev", "qa"):
        write_record(work_root, env, verified_record(env, DIGEST_A))
    result = choose(work_root, target, tmp_path, **({"promote_from": source} if source else {}))
    assert result.returncode != 0
    assert "promote_from" in result.stdout and not (tmp_path / "chosen.json").exists()


def test_refuses_something_that_is_not_a_digest(work_root, tmp_path):
    write_record(work_root, "dev", verified_record("dev", DIGEST_A))
    result = choose(work_root, "qa", tmp_path, promote_digest="latest")
    assert result.returncode != 0 and "promote_digest: 'latest' is not a digest" in result.stdout


def promote(work_root: Path, target: str, *flags, skip_tags="argocd,preview,verify", **extra) -> subprocess.CompletedProcess:
    """The real promote.yml with the real gitops role; Argo CD and the verification need a cluster, the preview
    an image that can be pulled."""
    variables = {"kindling_work_dir": str(work_root / target), **extra}
    return subprocess.run(["ansible-playbook", "-i", f"inventories/{target}", "playbooks/promote.yml",
                           "--skip-tags", skip_tags, *flags, "-e", json.dumps(variables)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "GITOPS_TOKEN": ""})


def promoted_into_qa(tmp_path: Path) -> Path:
    """The work root after dev verified DIGEST_A and promote.yml took it into qa."""
    work_root = tmp_path / "work"
    (work_root / "dev").mkdir(parents=True)
    write_record(work_root, "dev", verified_record("dev", DIGEST_A))
    result = promote(work_root, "qa")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return work_root


def test_promote_commits_exactly_the_verified_digest(tmp_path):
    work_root = promoted_into_qa(tmp_path)
    remote = work_root / "gitops.git"
    overlay = subprocess.run(["git", "--git-dir", str(remote), "show", "main:apps/app1/overlays/qa/kustomization.yaml"],
                             capture_output=True, text=True, check=True).stdout
    assert DIGEST_A in overlay
    deployed = json.loads((work_root / "qa" / "release" / "deployed.json").read_text())
    assert deployed["image"]["digest"] == DIGEST_A and deployed["promoted_from"] == "dev"
    assert deployed["env"] == "qa" and deployed["made_by_deploy"] is True
    head = subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "main"], capture_output=True, text=True).stdout.strip()
    assert deployed["commit"] == head

    refused = promote(work_root, "qa", promote_digest=DIGEST_B)
    assert refused.returncode != 0 and "was not verified in dev" in refused.stdout
    assert subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "main"], capture_output=True, text=True).stdout.strip() == head

    # The verify play that follows the push has its settings checked before the promotion changes anything.
    write_record(work_root, "dev", verified_record("dev", DIGEST_B))
    bad_verify = promote(work_root, "qa", verify_attempts=-1)
    assert bad_verify.returncode != 0 and "verify_attempts: -1 must be a whole number" in bad_verify.stdout
    assert subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "main"], capture_output=True, text=True).stdout.strip() == head


def test_promote_previews_the_overlay_before_it_publishes():
    listed = subprocess.run(["ansible-playbook", "--list-tasks", "-i", "inventories/qa", "playbooks/promote.yml"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    tasks = [line.strip().split("\t")[0] for line in listed.stdout.splitlines()]
    preview = tasks.index("Preview the rendered overlay with podman kube play")
    assert preview < tasks.index("gitops : Commit and push this environment's tree to the GitOps repository")


def test_promote_undoes_a_hand_edit_and_says_so(tmp_path):
    work_root = promoted_into_qa(tmp_path)
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(work_root / "gitops.git"), str(other)], check=True)
    overlay = other / "apps/app1/overlays/qa/kustomization.yaml"
    overlay.write_text(re.sub(r"count: \d+", "count: 5", overlay.read_text()))
    subprocess.run(["git", "-c", "user.name=Other", "-c", "user.email=other@example.com", "commit", "-qam", "scale by hand"],
                   cwd=other, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=other, check=True)
    hand_edit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=other, capture_output=True, text=True).stdout.strip()

    second = promote(work_root, "qa", "--diff")
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    said = " ".join(second.stdout.split())
    assert (f"apps/app1/overlays/qa/kustomization.yaml: overwriting a hand edit, commit {hand_edit[:12]} "
            "by Other <other@example.com>") in said, second.stdout[-4000:]


@pytest.mark.parametrize("missing", ["kubeconfig", "application"])
def test_promote_into_an_environment_never_bootstrapped_refuses_before_any_change(tmp_path, missing):
    """Only bootstrap applies the env's Application and writes its kubeconfig: without them the Argo CD wait
    after the push could only fail, leaving the commit and the record behind. The check reads the Application
    through the API (the double answers 404 like the API server)."""
    work_root = tmp_path / "work"
    for env in ("dev", "qa"):
        (work_root / env).mkdir(parents=True)
    write_record(work_root, "dev", verified_record("dev", DIGEST_A))
    api = KubeAPIDouble().start()
    try:
        if missing == "application":
            api.write_kubeconfig(work_root / "qa" / "kubeconfig")
        result = promote(work_root, "qa", skip_tags="preview,verify")
    finally:
        api.stop()
    said = " ".join(result.stdout.split())
    assert result.returncode != 0
    wanted = (f"the kubeconfig {work_root / 'qa' / 'kubeconfig'} does not exist" if missing == "kubeconfig"
              else "Application argocd/app1-qa does not exist")
    assert (f"qa is not bootstrapped: {wanted}; run ansible-playbook -i inventories/qa playbooks/bootstrap.yml "
            "first. Nothing was changed.") in said, result.stdout[-4000:]
    assert not (work_root / "gitops.git").exists() and not (work_root / "qa" / "release").exists()


def test_a_promotion_that_commits_nothing_says_whether_the_commit_it_records_is_its_own(tmp_path):
    """A rollback reverts only a commit this environment's deploy made: a run that commits nothing keeps its
    own commit's record as it was, and records another environment's commit on top as not its own."""
    work_root = promoted_into_qa(tmp_path)
    deployed_path = work_root / "qa" / "release" / "deployed.json"
    own = json.loads(deployed_path.read_text())

    again = promote(work_root, "qa")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    assert json.loads(deployed_path.read_text()) == own

    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(work_root / "gitops.git"), str(other)], check=True)
    (other / "apps/app1/overlays/prod").mkdir(parents=True)
    (other / "apps/app1/overlays/prod/kustomization.yaml").write_text("resources: [../../base]\n")
    subprocess.run(["git", "add", "-A"], cwd=other, check=True)
    subprocess.run(["git", "-c", "user.name=Other", "-c", "user.email=other@example.com", "commit", "-qm", "app1 prod"],
                   cwd=other, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=other, check=True)
    prods = subprocess.run(["git", "rev-parse", "HEAD"], cwd=other, capture_output=True, text=True).stdout.strip()

    unchanged = promote(work_root, "qa")
    assert unchanged.returncode == 0, unchanged.stdout[-4000:] + unchanged.stderr[-2000:]
    deployed = json.loads(deployed_path.read_text())
    assert deployed["commit"] == prods and deployed["env"] == "qa" and deployed["made_by_deploy"] is False
