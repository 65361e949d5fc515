"""Container HEALTHCHECK without curl: exit 0 when this container's /health answers {"status": "ok"}.

    python -m app1.healthcheck      (reads PORT and HOST like the server does)
"""
import json
import sys
import urllib.request

from .settings import from_environment

WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def main():
    settings = from_environment()  # the server started with the same environment, so it is valid
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    url = f"http://{host}:{settings.port}/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            healthy = response.status == 200 and json.load(response).get("status") == "ok"
    except (OSError, ValueError) as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    if not healthy:
        print(f"unhealthy: {url} did not answer status ok", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
