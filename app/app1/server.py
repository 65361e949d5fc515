"""Production entry point (`python -m app1`): settings checked, then granian serving app1.worker's app.

granian through its public API only (`granian.Granian`, the class its CLI runs): on a Python with a GIL
that is a main process that binds the socket and supervises, plus one worker process that builds the
app (app1.worker.application, granian's factory target), serves requests on THREADS Python threads and
serves the metrics port. Scale with replicas, not workers.
SIGTERM/SIGINT: granian's graceful stop. The worker stops accepting connections (so a readiness probe
fails from then on), finishes the requests in flight and exits; one still busy SHUTDOWN_TIMEOUT later is
killed (granian's `workers_kill_timeout`). The time for load balancers to stop sending before that is the
orchestrator's to give: in Kubernetes the Deployment's preStop pause.
"""
import sys
import tempfile

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from . import logs
from .settings import APP_NAME, SettingsError, from_environment

TARGET = "app1.worker:application"


def main(target=TARGET):
    try:
        settings = from_environment()
    except SettingsError as error:
        print(f"{APP_NAME}: invalid setting: {error}", file=sys.stderr)
        return 2
    try:
        # The contract is a writable /tmp (Werkzeug spools large request bodies there): refused here with
        # one line rather than failing a request later.
        tempfile.gettempdir()
    except OSError:
        print(f"{APP_NAME}: no writable temporary directory: mount a tmpfs (or an emptyDir) on /tmp", file=sys.stderr)
        return 2
    server = Granian(
        target, factory=True, address=settings.host, port=settings.port, interface=Interfaces.WSGI, workers=1,
        blocking_threads=settings.threads,  # the Python threads that run requests
        websockets=False, log_level=LogLevels(settings.log_level.lower()),
        log_dictconfig=logs.dict_config(settings.log_level),  # granian's records in app1's JSON lines too
        log_access=False,  # app1.access logs every request with route, duration and request id
        workers_kill_timeout=settings.shutdown_timeout,
    )
    listening = []
    server.on_startup(lambda: listening.append(True))  # granian's hook, called once its socket is bound
    try:
        server.serve()
    except RuntimeError as error:
        if listening:
            raise
        # The socket's bind is what fails before the hook: "Address already in use (os error 98)" (plus a
        # Rust backtrace when RUST_BACKTRACE is set): the first line says it all.
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"{APP_NAME}: cannot listen on PORT: {settings.host}:{settings.port}: {reason}", file=sys.stderr)
        return 1
    return 0
