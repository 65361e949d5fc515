"""Helpers for the GitOps stage's tests: run one module through Ansible, real git remotes, a git smart-HTTP server."""
import base64
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "kustomize"
DIGEST = "sha256:" + "0d2b4c6e8f0a1c3e" * 4
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "other", "GIT_AUTHOR_EMAIL": "other@localhost",
                "GIT_COMMITTER_NAME": "other", "GIT_COMMITTER_EMAIL": "other@localhost"}


def run_module(name, args, check_mode=False, diff=False, env=None):
    """Run kindling.gitops.<name> once through `ansible` (the real module, real AnsibleModule); its JSON result."""
    command = ["ansible", "localhost", "-m", f"kindling.gitops.{name}", "-a", json.dumps(args),
               "-e", "ansible_python_interpreter=" + str(ROOT / ".venv" / "bin" / "python")]
    if check_mode:
        command.append("--check")
    if diff:
        command.append("--diff")
    environ = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json",
                   ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **(env or {}))
    process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=environ)
    try:
        output = json.loads(process.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible printed no JSON (rc {process.returncode}): {process.stdout}\n{process.stderr}")
    return output["plays"][0]["tasks"][0]["hosts"]["localhost"]


def git(*args, cwd=None, check=True):
    process = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                             env=dict(os.environ, **GIT_IDENTITY))
    if check and process.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {process.stderr}")
    return process.stdout.strip()


def bare_remote(tmp_path, name="remote.git"):
    """A real bare repository with one commit on main, like the role seeds."""
    remote = tmp_path / name
    git("init", "--quiet", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    git("clone", "--quiet", str(remote), str(seed))
    (seed / "README.md").write_text("GitOps repository\n")
    git("add", "README.md", cwd=seed)
    git("commit", "--quiet", "-m", "Start", cwd=seed)
    git("push", "--quiet", "origin", "HEAD:main", cwd=seed)
    return remote


def clone(remote, path):
    git("clone", "--quiet", "-b", "main", str(remote), str(path))
    return path


def remote_log(remote):
    return git("--git-dir", str(remote), "log", "--format=%H %s", "main").splitlines()


class GitHTTPServer:
    """`git http-backend` behind HTTP basic auth on 127.0.0.1: a real smart-HTTP remote that needs a token."""

    def __init__(self, project_root, username, token):
        self.project_root, self.username, self.token = str(project_root), username, token
        self.auth_failures = 0
        expected = "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                if self.headers.get("Authorization") != expected:
                    server.auth_failures += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="gitops"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _sep, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                env = dict(os.environ, GIT_PROJECT_ROOT=server.project_root, GIT_HTTP_EXPORT_ALL="1",
                           PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD=self.command,
                           CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)),
                           REMOTE_USER=server.username, REMOTE_ADDR="127.0.0.1",
                           GIT_HTTP_RECEIVE_PACK="1", HTTP_GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
                result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
                head, _sep, payload = result.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    key, _sep, value = line.partition(":")
                    if key.lower() == "status":
                        status = int(value.strip().split()[0])
                    elif key:
                        headers.append((key, value.strip()))
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self):
        return self.httpd.server_address[1]

    def url(self, repo_name):
        return f"http://127.0.0.1:{self.port}/{repo_name}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars_files: [{root}/versions.yml]
  tasks:
    - ansible.builtin.include_role:
        name: gitops
    - ansible.builtin.copy:
        content: "{{{{ kindling_gitops | to_json }}}}"
        dest: "{{{{ kindling_work_dir }}}}/kindling_gitops.json"
        mode: "0644"
      check_mode: false
"""
IMAGE = {"registry": "localhost:5001", "repository": "app1", "tag": "1.0.0-0123456789ab", "digest": DIGEST,
         "ref": f"localhost:5001/app1@{DIGEST}"}


def run_role(tmp_path, env, flags=(), environ=None, **extra_vars):
    """Run the gitops role for one env of the real inventories; (kindling_gitops, ansible output)."""
    playbook = tmp_path / "gitops.yml"
    playbook.write_text(PLAYBOOK.format(root=ROOT))
    variables = {"kindling_work_dir": str(tmp_path / ".work" / env), "kindling_image": IMAGE, **extra_vars}
    process = subprocess.run(["ansible-playbook", "-i", str(ROOT / "inventories" / env), str(playbook),
                              "-e", json.dumps(variables), *flags], cwd=ROOT, capture_output=True, text=True,
                             env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **(environ or {})))
    assert process.returncode == 0, process.stdout + process.stderr
    facts = json.loads((tmp_path / ".work" / env / "kindling_gitops.json").read_text())
    return facts, process.stdout
