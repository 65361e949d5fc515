"""A real OCI registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 for one test.

Started with our own config (the packaged one demands htpasswd): filesystem storage in a temp dir,
deletes enabled, optionally htpasswd auth with a bcrypt password made by apache2-utils' htpasswd.
"""
import base64
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .net import free_port, wait_for_port

MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])


def registry_binary() -> str | None:
    return shutil.which("docker-registry") or (
        "/usr/bin/docker-registry" if Path("/usr/bin/docker-registry").exists() else None)


@dataclass
class Registry:
    workdir: Path
    username: str | None = None
    password: str | None = None
    port: int = 0
    # distribution's storage.maintenance.readonly: reads are served, every push is refused (405).
    readonly: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """host:port as it goes in an image reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, new_session: bool = False) -> "Registry":
        """new_session: in a process group of its own, so that it outlives the test process that starts it."""
        binary = registry_binary()
        if binary is None:
            raise RuntimeError("docker-registry is not installed (apt-get install docker-registry)")
        if not self.port:
            self.port = free_port()
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        auth = ""
        if self.username:
            htpasswd = self.workdir / "htpasswd"
            line = subprocess.run(["htpasswd", "-Bbn", self.username, self.password],
                                  check=True, capture_output=True, text=True).stdout.strip()
            htpasswd.write_text(line + "\n")
            auth = f"auth:\n  htpasswd:\n    realm: kindling-test\n    path: {htpasswd}\n"
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
            + ("  maintenance:\n    readonly:\n      enabled: true\n" if self.readonly else "") +
            f"http:\n  addr: {self.host}\n  secret: kindling-test-only\n{auth}")
        log = open(self.workdir / "registry.log", "ab")
        self.process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log,
                                        start_new_session=new_session)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def _request(self, path: str, method: str = "GET", accept: str | None = None):
        request = urllib.request.Request(self.url + path, method=method)
        if accept:
            request.add_header("Accept", accept)
        if self.username:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        return urllib.request.urlopen(request, timeout=10)

    def catalog(self) -> list[str]:
        with self._request("/v2/_catalog") as response:
            return json.load(response).get("repositories") or []

    def tags(self, name: str) -> list[str]:
        try:
            with self._request(f"/v2/{name}/tags/list") as response:
                return json.load(response).get("tags") or []
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return []
            raise

    def digest(self, name: str, tag: str) -> str | None:
        """The Docker-Content-Digest the registry reports for name:tag, or None if absent."""
        try:
            with self._request(f"/v2/{name}/manifests/{tag}", method="HEAD", accept=MANIFEST_TYPES) as response:
                return response.headers["Docker-Content-Digest"]
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise


def build_registry_lookalike(base_image: str, context: Path, tag: str) -> str:
    """A stand-in for the pinned registry image (registry:3, which cannot be pulled here): Debian's
    docker-registry (distribution 2.8, the binary its package installs on this host) in an image built FROM
    the local base image, serving what registry:3 serves: 0.0.0.0:5000 in the container, storage under
    /var/lib/registry, no auth. Returns the tag."""
    binary = registry_binary()
    if binary is None:
        raise RuntimeError("docker-registry is not installed (apt-get install docker-registry)")
    context.mkdir(parents=True, exist_ok=True)
    shutil.copy(binary, context / "registry")
    (context / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n"
        "  delete:\n    enabled: true\nhttp:\n  addr: 0.0.0.0:5000\n  secret: kindling-test-only\n")
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nCOPY registry /usr/local/bin/registry\nCOPY config.yml /etc/docker/registry/config.yml\n"
        'EXPOSE 5000\nENTRYPOINT ["/usr/local/bin/registry", "serve", "/etc/docker/registry/config.yml"]\n')
    subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], check=True, capture_output=True, text=True)
    return tag
