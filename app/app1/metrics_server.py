"""The metrics port: GET /metrics from one asyncio event loop in a daemon thread, HTTP/1.1 with keep-alive.

Why not prometheus_client's own server (wsgiref, what app1 used first): HTTP/1.0 with a thread and a TCP
handshake per scrape and a listen backlog of 5; under bench/app_bench.py's 10-connection load its p99
was 193 ms. A thread per kept-alive connection (http.server) still had a 4-10 ms p99: the threads hand
the GIL to each other in no particular order on the one core. One event loop answers in arrival order
(p99 3.2 ms at 5,300 Prometheus-style scrapes/s, OpenMetrics gzipped; figures in docs/app.md).
It speaks the part of HTTP/1.x a scraper uses: GET or HEAD of /metrics, a request head of at most
MAX_HEAD_BYTES ending in CRLF CRLF (as every HTTP client sends it), keep-alive by the HTTP/1.0 and 1.1
rules. A request with a body is answered and its connection closed (the body is read only to be thrown
away, for at most LINGER_SECONDS, so that closing does not reset the answer); an unparsable head gets a
400 and a closed connection. Every request is counted in app_request_count and
app_request_latency_seconds like the app's routes, but not in app_requests_in_flight, which is about the
app port (a scrape would otherwise always read itself there).
"""
import asyncio
import json
import logging
import socket
import threading
import time

from .metrics import METRICS_ENDPOINT, UNMATCHED, Exposition

log = logging.getLogger("app1.metrics")

# Longer than the usual 60 s scrape interval, so a scraper's connection is reused rather than reopened.
IDLE_SECONDS = 75
MAX_HEAD_BYTES = 16 * 1024
LINGER_SECONDS = 2
# The kernel's default queue for this socket would be the listen(5) of socketserver: a burst beyond it
# is dropped and retried only after the client's SYN timeout (200 ms to 1 s).
BACKLOG = 128
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error"}


class Request:
    """A parsed request head; ValueError for anything that is not HTTP/1.0 or 1.1."""

    def __init__(self, head):
        # Empty lines before a request line are to be ignored (RFC 9112, 2.2).
        request_line, *header_lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1") or not parts[0].isalpha():
            raise ValueError(f"not an HTTP/1.x request line: {request_line[:80]!r}")
        self.method, target, self.version = parts
        self.path, _, self.query = target.partition("?")
        self.headers = {}
        for line in header_lines:
            if not line:
                continue
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise ValueError(f"malformed header line: {line[:80]!r}")
            self.headers[name.lower()] = value.strip()

    @property
    def has_body(self):
        return "transfer-encoding" in self.headers or self.headers.get("content-length", "0") != "0"

    @property
    def keep_alive(self):
        options = {option.strip() for option in self.headers.get("connection", "").lower().split(",")}
        if self.has_body:
            return False
        if self.version == "HTTP/1.1":
            return "close" not in options
        return "keep-alive" in options


class MetricsServer:
    """Binds at once (so a taken port fails the start), then serves from its own thread until shutdown()."""

    def __init__(self, metrics, host, port):
        self.metrics = metrics
        self.exposition = Exposition(metrics)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=BACKLOG)
        self.server_port = self.socket.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        # Listening before the thread starts, so shutdown() can never come before it.
        self._listener = self._loop.run_until_complete(
            asyncio.start_server(self._connection, sock=self.socket, limit=MAX_HEAD_BYTES))
        self._thread = threading.Thread(target=self._serve, name="metrics-server", daemon=True)
        self._thread.start()

    def _serve(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        # shutdown(): stop listening, end the open connections, then the loop.
        self._listener.close()
        connections = asyncio.all_tasks(self._loop)
        for connection in connections:
            connection.cancel()
        self._loop.run_until_complete(asyncio.gather(*connections, return_exceptions=True))
        self._loop.close()

    def shutdown(self):
        """Stop serving and drop the open connections (the process's exit does the same without it)."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def server_close(self):
        self.socket.close()

    async def _connection(self, reader, writer):
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_SECONDS)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return  # closed by the scraper, or idle too long
                except asyncio.LimitOverrunError:
                    await self._close_after(reader, writer, self._answer_unparsable(
                        f"request head over {MAX_HEAD_BYTES} bytes"))
                    return
                if not head.strip(b"\r\n"):
                    continue  # only empty lines: there is no request yet
                try:
                    request = Request(head)
                except ValueError as error:
                    await self._close_after(reader, writer, self._answer_unparsable(str(error)))
                    return
                if not request.keep_alive:
                    await self._close_after(reader, writer, self.answer(request))
                    return
                writer.write(self.answer(request))
                # A scraper that sends but never reads cannot hold the connection for ever.
                await asyncio.wait_for(writer.drain(), IDLE_SECONDS)
        except (ConnectionError, TimeoutError):
            pass  # the scraper went away, or stopped reading, mid-answer
        except asyncio.CancelledError:
            pass  # shutdown(): ended here, because asyncio's streams (3.11) log a connection task that ends cancelled
        finally:
            writer.close()

    @staticmethod
    async def _close_after(reader, writer, response):
        """Send the last answer, then read whatever the client still sends (a body this server never
        reads) until it closes or LINGER_SECONDS pass: closing a socket with unread data would make the
        kernel reset the connection, and the client could lose the answer with it."""
        writer.write(response)
        if writer.can_write_eof():
            writer.write_eof()
        await asyncio.wait_for(writer.drain(), LINGER_SECONDS)
        try:
            async with asyncio.timeout(LINGER_SECONDS):
                while await reader.read(64 * 1024):
                    pass
        except TimeoutError:
            pass

    def answer(self, request):
        """The whole response (head and body) to one request, counted and timed."""
        started = time.perf_counter()
        endpoint = METRICS_ENDPOINT if request.path == METRICS_ENDPOINT else UNMATCHED
        status = 500
        try:
            status, headers, body = self._respond(request, endpoint)
        finally:
            self.metrics.observe(request.method, endpoint, status, time.perf_counter() - started)
        if not request.keep_alive:
            headers["Connection"] = "close"
        elif request.version == "HTTP/1.0":
            headers["Connection"] = "keep-alive"
        return _response(status, headers, b"" if request.method == "HEAD" else body, len(body))

    def _respond(self, request, endpoint):
        if endpoint == UNMATCHED:
            return 404, {}, _json_error(404)
        if request.method not in ("GET", "HEAD"):
            return 405, {"Allow": "GET, HEAD"}, _json_error(405)
        try:
            content_type, encoding, body = self.exposition.render(
                request.headers.get("accept"), request.headers.get("accept-encoding"), request.query)
        except Exception:
            log.exception("rendering /metrics failed")
            return 500, {}, _json_error(500)
        headers = {"Content-Type": content_type}
        if encoding:
            headers["Content-Encoding"] = encoding
        return 200, headers, body

    def _answer_unparsable(self, reason):
        log.debug("metrics port: bad request: %s", reason)
        self.metrics.observe("other", UNMATCHED, 400, 0.0)
        return _response(400, {"Connection": "close"}, _json_error(400))


def _json_error(status):
    return json.dumps({"error": REASONS[status].lower(), "status": status}).encode()


def _response(status, headers, body, length=None):
    headers.setdefault("Content-Type", "application/json")
    head = [f"HTTP/1.1 {status} {REASONS[status]}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def serve_metrics(metrics, host, port):
    """Serve /metrics on host:port from a daemon thread; returns the server (its .server_port is the real port)."""
    return MetricsServer(metrics, host, port)
