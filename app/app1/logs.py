"""One JSON object per line on stdout, for the service's own records and for the server's."""
import json
import logging
import sys
import time

# Fields a record may carry through `extra=` that belong in the JSON line.
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "request_id")
ACCESS_LOGGER = "app1.access"


class _Clock:
    """ISO 8601 UTC timestamps with milliseconds; the per-second part is formatted once per second."""

    def __init__(self):
        self._second = None
        self._prefix = ""

    def format(self, created):
        second = int(created)
        if second != self._second:
            self._second, self._prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"


_clock = _Clock()


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {"time": _clock.format(record.created), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        for field in REQUEST_FIELDS:
            value = record.__dict__.get(field)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            # The traceback stays in the log line (escaped, one line); never in a response body.
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class AccessLog:
    """The per-request line, written without building a LogRecord: it is on every request's path.

    Same JSON shape and the same handler as every other record; honours the level of ACCESS_LOGGER.
    """

    def __init__(self):
        self._logger = logging.getLogger(ACCESS_LOGGER)

    def __call__(self, method, path, status, duration_ms, request_id):
        if not self._logger.isEnabledFor(logging.INFO):
            return
        line = json.dumps({"time": _clock.format(time.time()), "level": "INFO", "logger": ACCESS_LOGGER,
                           "message": "request", "method": method, "path": path, "status": status,
                           "duration_ms": duration_ms, "request_id": request_id}, ensure_ascii=False)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                with handler.lock:
                    handler.stream.write(line + "\n")
                    handler.stream.flush()


def handler(stream=None):
    out = logging.StreamHandler(stream or sys.stdout)
    out.setFormatter(JsonFormatter())
    return out


def configure(level, stream=None):
    """Route every logger (ours, granian's, werkzeug's) to one JSON handler at `level`."""
    root = logging.getLogger()
    root.handlers[:] = [handler(stream)]
    root.setLevel(level)
    for name in ("_granian", "werkzeug"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
