"""A minimal HTTP/1.1 keep-alive server on asyncio.Protocol + httptools, for bench/http.py.

    python bench/http_server.py --loop asyncio|uvloop|rloop|tideloop --port P

Answers every request with ``200 OK`` and the body ``Hello, World!`` (with
Content-Length), keeps the connection open unless the request asks to close
it, and handles pipelined requests in order. Prints ``READY <port>`` once
listening (0 picks a free port), or ``NA <reason>`` and exits 3 when the loop
or httptools does not load.
"""
import argparse
import asyncio
import os
import signal
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from netbench_common import LOOP_NAMES, new_loop  # noqa: E402

# This directory holds http.py, which would shadow the standard library's
# http package for anything imported from here on: take it off the path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

BODY = b"Hello, World!"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n" + BODY
)
RESPONSE_CLOSE = RESPONSE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)


class HttpProtocol(asyncio.Protocol):
    """One connection: httptools parses, every complete request gets the fixed response."""

    def __init__(self, httptools):
        self.parser = httptools.HttpRequestParser(self)
        self.error = httptools.HttpParserError
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except self.error:
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.transport.close()

    # httptools callback: a whole request (headers and body) has arrived.
    def on_message_complete(self):
        if self.parser.should_keep_alive():
            self.transport.write(RESPONSE)
        else:
            self.transport.write(RESPONSE_CLOSE)
            self.transport.close()


def main(argv=None):
    """Parse the options, start the server, print READY (or NA) and serve forever."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", required=True, choices=LOOP_NAMES)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import httptools
    except ImportError as exc:
        print(f"NA httptools is not installed ({exc}); pip install httptools", flush=True)
        return 3
    try:
        loop = new_loop(args.loop)
    except Exception as exc:
        print(f"NA {args.loop} does not load: {type(exc).__name__}: {exc}", flush=True)
        return 3
    asyncio.set_event_loop(loop)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(4096)
    sock.setblocking(False)
    port = sock.getsockname()[1]  # before the loop takes the socket (rloop detaches it)
    try:
        server = loop.run_until_complete(loop.create_server(lambda: HttpProtocol(httptools), sock=sock))
    except (NotImplementedError, AttributeError, TypeError) as exc:
        print(f"NA {args.loop} cannot create_server: {type(exc).__name__}: {exc}", flush=True)
        return 3
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the driver's SIGTERM ends us at once
    print(f"READY {port}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
