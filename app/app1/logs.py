"""One JSON object per line on stdout, for the service's own records and for the server's (granian's)."""
import json
import logging
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
# One encoder for every line: json.dumps with other than its default options builds a new one per call.
_encoder = json.JSONEncoder(ensure_ascii=False, default=str)


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
        return _encoder.encode(entry)


def dict_config(level, stream="ext://sys.stdout"):
    """A logging.config.dictConfig schema: one JSON handler on the root logger, which every logger (ours,
    granian's, werkzeug's) propagates to.

    granian applies it itself (its `log_dictconfig` option, in its main process and again in its worker):
    it takes the place of granian's own schema, to which granian only adds its log level.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": stream}},
        "loggers": {},
        "root": {"handlers": ["stdout"], "level": level},
    }
