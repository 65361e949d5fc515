"""Whether this process should get traffic: starting -> ready -> draining."""
import threading

STARTING, READY, DRAINING = "starting", "ready", "draining"


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
