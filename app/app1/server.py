"""Production entry point (`python -m app1`): settings checked, then granian serving app1.worker's app.

granian through its public API only (`granian.Granian`, the class its CLI runs): on a Python with a GIL
that is a main process that binds the socket and supervises, plus one worker process that builds the
app (app1.worker.application, granian's factory target), serves requests on THREADS Python threads and
serves the metrics port. Scale with replicas, not workers.
SIGTERM/SIGINT: /ready answers 503 at once and requests keep being served for DRAIN_SECONDS (so load
balancers stop sending), then granian's own graceful stop: it stops accepting, finishes the requests in
flight and exits 0; a worker still busy SHUTDOWN_TIMEOUT later is killed by granian (its
`workers_kill_timeout`) and the process exits 1.
"""
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from . import logs
from .settings import APP_NAME, SettingsError, from_environment
from .readiness import DRAIN_SIGNAL

log = logging.getLogger("app1.server")
TARGET = "app1.worker:application"


class Drain:
    """app1's drain in front of granian's graceful stop, installed by granian's `on_startup` hook.

    That hook runs in the main process once granian has set its SIGINT/SIGTERM handlers and bound the
    socket, before it starts the worker. The drain takes those two signals, keeps granian's handlers and
    calls them DRAIN_SECONDS later (from a timer thread: they only set granian's stop flag and event).
    """

    def __init__(self, settings):
        self.settings = settings
        self.installed = False
        self.stopping = False
        self.workers = []
        self.granian_handlers = {}

    def install(self):
        # Ignored until the worker sets its own handler: a drain signal during its start cannot kill it
        # (an ignored signal stays ignored in a forked or spawned child).
        signal.signal(DRAIN_SIGNAL, signal.SIG_IGN)
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.granian_handlers[signum] = signal.getsignal(signum)
            signal.signal(signum, self.on_signal)
        self.installed = True

    def on_signal(self, signum, _frame):
        if self.stopping:
            return  # a second SIGTERM changes nothing
        self.stopping = True
        # granian's worker is a multiprocessing child of this process.
        self.workers = multiprocessing.active_children()
        for worker in self.workers:
            os.kill(worker.pid, DRAIN_SIGNAL)
        log.info("%s: /ready now 503, serving for %ss more, then finishing in-flight requests",
                 signal.Signals(signum).name, self.settings.drain_seconds)
        timer = threading.Timer(self.settings.drain_seconds, self.stop_accepting, (signum,))
        timer.daemon = True
        timer.start()

    def stop_accepting(self, signum):
        log.info("draining done: accepting no new connections, finishing the requests in flight")
        self.granian_handlers[signum](signum, None)

    def killed_workers(self):
        """Workers granian had to kill after SHUTDOWN_TIMEOUT (known once serve() has returned)."""
        return [worker for worker in self.workers if worker.exitcode == -signal.SIGKILL]


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
    drain = Drain(settings)
    server.on_startup(drain.install)
    try:
        server.serve()
    except RuntimeError as error:
        if drain.installed:
            raise
        # Before the startup hook, the socket's bind is what fails: "Address already in use (os error 98)"
        # (plus a Rust backtrace when RUST_BACKTRACE is set): the first line says it all.
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"{APP_NAME}: cannot listen on PORT: {settings.host}:{settings.port}: {reason}", file=sys.stderr)
        return 1
    if drain.killed_workers():
        log.error("requests still in flight after SHUTDOWN_TIMEOUT=%ss: the worker was killed without them",
                  settings.shutdown_timeout)
        return 1
    log.info("stopped")
    return 0
