"""Settings come from environment variables only, and are checked before anything starts."""
import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "app1"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Outside an image (tests, a developer's shell) the version comes from app/VERSION; the image bakes APP_VERSION.
_VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"


class SettingsError(ValueError):
    """A setting has a value the service cannot start with; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 8080
    metrics_port: int = 9090
    log_level: str = "INFO"
    environment: str = "development"
    version: str = "0.0.0"
    commit: str = "unknown"
    threads: int = 4
    shutdown_timeout: int = 10


def _port(env, name, default):
    raw = env.get(name, str(default)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{name}={raw!r} is not a TCP port: use a whole number from 1 to 65535")
    return int(raw)


def _count(env, name, default, maximum):
    raw = env.get(name, str(default)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise SettingsError(f"{name}={raw!r} is not a thread count: use a whole number from 1 to {maximum}")
    return int(raw)


def _whole_seconds(env, name, default, maximum):
    # granian's workers_kill_timeout: whole seconds, at least 1 (its CLI's range starts there; 0 would mean
    # "wait for ever" to it).
    raw = env.get(name, str(default)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise SettingsError(f"{name}={raw!r} is not a duration: use whole seconds from 1 to {maximum}")
    return int(raw)


def _default_version():
    try:
        return _VERSION_FILE.read_text(encoding="utf-8").strip() or "0.0.0"
    except OSError:
        return "0.0.0"


def from_environment(env=None):
    """Settings from `env` (default os.environ); raises SettingsError naming the first bad variable."""
    env = os.environ if env is None else env
    port = _port(env, "PORT", Settings.port)
    metrics_port = _port(env, "METRICS_PORT", Settings.metrics_port)
    if metrics_port == port:
        raise SettingsError(f"METRICS_PORT={metrics_port} equals PORT: metrics need a port of their own")
    log_level = env.get("LOG_LEVEL", Settings.log_level).strip().upper()
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL={env.get('LOG_LEVEL')!r} is not a log level: "
                            f"use one of {', '.join(LOG_LEVELS)}")
    host = env.get("HOST", Settings.host).strip()
    if not host:
        raise SettingsError("HOST is empty: use an address to listen on, e.g. 0.0.0.0 or 127.0.0.1")
    return Settings(
        host=host,
        port=port,
        metrics_port=metrics_port,
        log_level=log_level,
        environment=env.get("ENVIRONMENT", "").strip() or Settings.environment,
        version=env.get("APP_VERSION", "").strip() or _default_version(),
        commit=env.get("APP_COMMIT", "").strip() or Settings.commit,
        threads=_count(env, "THREADS", Settings.threads, 64),
        shutdown_timeout=_whole_seconds(env, "SHUTDOWN_TIMEOUT", Settings.shutdown_timeout, 300),
    )
