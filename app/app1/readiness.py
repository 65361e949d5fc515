"""Whether this process should get traffic: starting -> ready -> draining."""
import signal
import threading

STARTING, READY, DRAINING = "starting", "ready", "draining"
# What app1.server's drain sends granian's worker process on SIGTERM/SIGINT (app1.worker turns it into
# drain()). granian sets handlers for SIGINT, SIGTERM (and SIGHUP in its main process) only, so this one is
# the app's. Here, not in app1.worker, so the main process need not import Flask to know it.
DRAIN_SIGNAL = signal.SIGUSR1


class Readiness:
    def __init__(self):
        self._phase = STARTING
        self._lock = threading.Lock()

    @property
    def phase(self):
        return self._phase

    @property
    def ready(self):
        return self._phase == READY

    def mark_ready(self):
        with self._lock:
            # Draining is final: a late start-up step must not put a stopping process back in rotation.
            if self._phase == STARTING:
                self._phase = READY

    def drain(self):
        with self._lock:
            self._phase = DRAINING
