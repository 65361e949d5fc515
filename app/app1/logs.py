"""One JSON object per line on stdout, for the service's own records and for the server's (granian's)."""
import time

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

ACCESS_LOGGER = "app1.access"


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with the field names and the UTC time the log pipeline reads.

    A record's `extra=` fields (the access line's method, path, status…) become fields of its line.
    """

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self):
        super().__init__("{asctime}{levelname}{name}{message}", style="{", json_ensure_ascii=False,
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger",
                                        "exc_info": "exception"})


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
