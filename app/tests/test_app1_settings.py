"""Settings from the environment: defaults, and bad values refused with one line naming the variable."""
import os
import socket
import subprocess
import sys

import pytest
from app1_helpers import APP_DIR

from app1.settings import Settings, SettingsError, from_environment
from support.net import free_port


def test_defaults_are_the_documented_ones():
    settings = from_environment({})
    assert (settings.host, settings.port, settings.metrics_port) == ("0.0.0.0", 8080, 9090)
    assert (settings.log_level, settings.environment, settings.commit) == ("INFO", "development", "unknown")
    assert settings.version == (APP_DIR / "VERSION").read_text().strip()
    assert (settings.threads, settings.shutdown_timeout) == (4, 10)


def test_environment_variables_set_every_value():
    settings = from_environment({
        "HOST": "127.0.0.1", "PORT": "8081", "METRICS_PORT": "9191", "LOG_LEVEL": "warning", "ENVIRONMENT": "prod",
        "APP_VERSION": "2.0.0", "APP_COMMIT": "abc", "THREADS": "8", "SHUTDOWN_TIMEOUT": "3"})
    assert settings == Settings(host="127.0.0.1", port=8081, metrics_port=9191, log_level="WARNING", environment="prod",
                                version="2.0.0", commit="abc", threads=8, shutdown_timeout=3)


@pytest.mark.parametrize("env, named", [
    ({"PORT": "eighty"}, "PORT"),
    ({"PORT": "0"}, "PORT"),
    ({"PORT": "65536"}, "PORT"),
    ({"PORT": "-1"}, "PORT"),
    ({"METRICS_PORT": "9090x"}, "METRICS_PORT"),
    ({"PORT": "9000", "METRICS_PORT": "9000"}, "METRICS_PORT"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"THREADS": "0"}, "THREADS"),
    ({"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT"),
    ({"SHUTDOWN_TIMEOUT": "nan"}, "SHUTDOWN_TIMEOUT"),
    ({"SHUTDOWN_TIMEOUT": "-2"}, "SHUTDOWN_TIMEOUT"),
    ({"SHUTDOWN_TIMEOUT": "0"}, "SHUTDOWN_TIMEOUT"),  # granian would wait for ever
    ({"SHUTDOWN_TIMEOUT": "1.5"}, "SHUTDOWN_TIMEOUT"),  # granian's kill timeout is whole seconds
    ({"HOST": " "}, "HOST"),
])
def test_a_bad_value_is_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError) as raised:
        from_environment(env)
    assert str(raised.value).startswith(f"{named}=") or str(raised.value).startswith(f"{named} ")


@pytest.mark.parametrize("variable, value", [("PORT", "http"), ("METRICS_PORT", "70000"), ("LOG_LEVEL", "verbose")])
def test_the_server_exits_non_zero_with_one_clear_line(variable, value):
    env = dict(os.environ, PYTHONPATH=str(APP_DIR), **{variable: value})
    result = subprocess.run([sys.executable, "-m", "app1"], cwd=APP_DIR, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and variable in lines[0] and value in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("variable", ["PORT", "METRICS_PORT"])
def test_a_port_in_use_stops_the_start_with_one_line_naming_it(variable):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = {"PORT": str(free_port()), "METRICS_PORT": str(free_port()), variable: str(taken.getsockname()[1])}
        env = dict(os.environ, PYTHONPATH=str(APP_DIR), HOST="127.0.0.1", **ports)
        result = subprocess.run([sys.executable, "-m", "app1"], cwd=APP_DIR, env=env, capture_output=True,
                                text=True, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and f"cannot listen on {variable}: 127.0.0.1:{ports[variable]}" in lines[0], lines
