"""app1's image on the real Docker engine: built offline from a host-made wheelhouse on the local base,
run read-only as a numeric non-root user with ports on 127.0.0.1, every endpoint and the health status checked."""
import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.net import free_port

pytestmark = pytest.mark.docker
PREFIX = "kindling-apptest"
# The venv's interpreter: the image has no shell, so its commands name it directly.
PYTHON = "/opt/app1/venv/bin/python3"


def docker(*args, check=True, timeout=300):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def container(app_image):
    """The image run as users run it in the cluster: read-only root, tmpfs /tmp, ports on 127.0.0.1 only."""
    name = f"{PREFIX}-{uuid.uuid4().hex[:10]}"
    port, metrics_port = free_port(), free_port()
    # The image's own HEALTHCHECK command, checked every second instead of every 10 s to keep the test short.
    docker("run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp", "--health-interval", "1s",
           "-e", "ENVIRONMENT=qa", "-p", f"127.0.0.1:{port}:8080", "-p", f"127.0.0.1:{metrics_port}:9090",
           app_image["tag"])
    yield {"name": name, "port": port, "metrics_port": metrics_port}
    docker("rm", "-f", name, check=False)


def wait_until_ready(port):
    """docker-proxy accepts before the app listens, so connection resets count as "not yet"."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if fetch(f"http://127.0.0.1:{port}/ready")[0] == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "the container never answered /ready with 200"
        time.sleep(0.2)


def inspect(name):
    return json.loads(docker("inspect", name).stdout)[0]


def test_image_is_labelled_non_root_and_checks_health_without_curl(app_image):
    config = inspect(app_image["tag"])["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == app_image["version"]
    assert labels["org.opencontainers.image.revision"] == app_image["commit"]
    assert labels["org.opencontainers.image.source"] == app_image["source"]
    user = config["User"].split(":")
    assert all(part.isdigit() and int(part) != 0 for part in user)
    assert config["Healthcheck"]["Test"] == ["CMD", PYTHON, "-m", "app1.healthcheck"]
    assert config["Cmd"] == [PYTHON, "-m", "app1"]
    # The ports are app1.settings' defaults, said there only: no EXPOSE, no PORT in the image's environment.
    assert config.get("ExposedPorts") is None
    assert not [variable for variable in config["Env"] if variable.split("=")[0] in ("PORT", "METRICS_PORT")]


# Run inside the image: what build-rootfs must have put there, and what it must have left out.
PROBE = """
import ctypes, importlib.util, json, os, pwd, sys
extensions = {os.path.realpath(os.path.join(folder, name)) for directory in sys.path
              for folder, _dirs, files in os.walk(directory or ".") for name in files if ".so" in name}
loaded, failed = 0, []
for path in sorted(extensions):
    try:
        ctypes.CDLL(path)  # the loader resolves every library it needs
        loaded += 1
    except OSError as error:
        failed.append(str(error))
print(json.dumps({
    "uid": os.getuid(), "user": pwd.getpwuid(os.getuid()).pw_name, "extensions_loaded": loaded, "failed": failed,
    "present": [path for path in ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/apt-get", "/usr/bin/dpkg",
                                  "/usr/bin/perl", "/tmp/wheels", "/tmp/requirements.txt") if os.path.lexists(path)],
    "modules": [name for name in ("pip", "setuptools", "ensurepip", "idlelib", "lib2to3", "tkinter", "test")
                if importlib.util.find_spec(name)],
    "tmp_writable": os.access("/tmp", os.W_OK), "root_writable": os.access("/opt/app1", os.W_OK),
}))
"""


def test_minimal_image_has_no_shell_or_pip_and_every_extension_module_loads(app_image):
    # FROM scratch: nothing to exec into but the app's interpreter.
    shell = docker("run", "--rm", "--entrypoint", "/bin/sh", app_image["tag"], "-c", "true", check=False, timeout=60)
    assert shell.returncode != 0 and "no such file" in shell.stderr.lower(), shell.stderr
    probe = docker("run", "--rm", "--read-only", "--tmpfs", "/tmp", app_image["tag"], "python3", "-c", PROBE,
                   timeout=120)
    found = json.loads(probe.stdout)
    assert found["failed"] == []
    assert found["extensions_loaded"] > 20  # lib-dynload's and the venv's (markupsafe, the server's)
    assert (found["uid"], found["user"]) == (10001, "app1")
    assert found["present"] == [] and found["modules"] == []
    assert (found["tmp_writable"], found["root_writable"]) == (True, False)


def test_read_only_non_root_container_serves_every_endpoint_and_turns_healthy(app_image, container):
    wait_until_ready(container["port"])
    deadline = time.monotonic() + 60
    while inspect(container["name"])["State"]["Health"]["Status"] != "healthy":
        state = inspect(container["name"])["State"]
        assert state["Running"], f"container stopped: {docker('logs', container['name']).stdout}"
        assert time.monotonic() < deadline, f"never healthy: {state['Health']}"
        time.sleep(0.5)

    base = f"http://127.0.0.1:{container['port']}"
    status, headers, body = fetch(base + "/")
    assert (status, json.loads(body)) == (200, {"app": "app1", "environment": "qa", "version": app_image["version"]})
    assert len(headers["X-Request-ID"]) == 32
    assert (fetch(base + "/health")[0], json.loads(fetch(base + "/health")[2])) == (200, {"status": "ok"})
    assert (fetch(base + "/ready")[0], json.loads(fetch(base + "/ready")[2])) == (200, {"status": "ready"})
    assert json.loads(fetch(base + "/missing")[2]) == {"error": "not found", "status": 404}
    request = urllib.request.Request(base + "/health", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 405

    _status, _headers, metrics_body = fetch(f"http://127.0.0.1:{container['metrics_port']}/metrics")
    families = {family.name: family for family in text_string_to_metric_families(metrics_body.decode())}
    build_info = families["app_build_info"].samples[0].labels
    assert build_info == {"version": app_image["version"], "environment": "qa", "commit": app_image["commit"]}
    index_requests = [sample.value for sample in families["app_request_count"].samples
                      if sample.labels == {"method": "GET", "endpoint": "/", "http_status": "200"}]
    assert index_requests == [1.0]  # the one GET / above

    # No shell in the image: the checks run in its own interpreter.
    assert docker("exec", container["name"], "python3", "-c", "import os; print(os.getuid())").stdout.strip() == "10001"
    write_attempt = docker("exec", container["name"], "python3", "-c",
                           "try: open('/opt/app1/x', 'w')\nexcept OSError as e: print('denied', e.errno)").stdout
    assert write_attempt.strip() == "denied 30"  # EROFS: the root filesystem itself is read-only
    assert docker("diff", container["name"]).stdout.strip() == ""
    logs = docker("logs", container["name"])
    assert logs.stderr == ""  # everything goes to stdout, as JSON
    logged = [json.loads(line) for line in logs.stdout.splitlines()]
    assert any(record.get("path") == "/missing" and record.get("status") == 404 for record in logged)


def test_docker_stop_exits_cleanly_in_bounded_time(container):
    wait_until_ready(container["port"])
    started = time.monotonic()
    docker("stop", "--time", "30", container["name"])
    took = time.monotonic() - started
    state = inspect(container["name"])["State"]
    assert state["ExitCode"] == 0
    assert took < 10  # SHUTDOWN_TIMEOUT's default; with nothing in flight, at once
    messages = [json.loads(line)["message"] for line in docker("logs", container["name"]).stdout.splitlines()
                if line.startswith("{")]
    assert "Granian shutdown completed, see ya!" in messages


def test_read_only_root_without_a_writable_tmp_is_refused_with_one_line(app_image):
    result = docker("run", "--rm", "--read-only", app_image["tag"], check=False, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "app1: no writable temporary directory: mount a tmpfs (or an emptyDir) on /tmp"]
