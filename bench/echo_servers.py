"""Echo servers for the network benchmarks: one per (loop, mode).

    python bench/echo_servers.py --loop asyncio|uvloop|rloop|tideloop \\
        --mode streams|protocol|buffered|sock --port P

Listens on 127.0.0.1:P (0 picks a free port), prints ``READY <port>`` once
accepting, and echoes every byte back until terminated. When the loop does not
import, or lacks what the mode needs, it prints ``NA <reason>`` and exits 3,
so the driver reports "n/a" instead of crashing.

The four modes are asyncio's four ways to write a server:

- ``streams``: ``asyncio.start_server``; ``await reader.read()`` then
  ``writer.write()`` and ``await writer.drain()``.
- ``protocol``: an ``asyncio.Protocol`` whose ``data_received`` writes the
  bytes back to its transport.
- ``buffered``: an ``asyncio.BufferedProtocol``; the loop reads into the
  protocol's own buffer (``get_buffer``), ``buffer_updated`` writes it back.
- ``sock``: a raw non-blocking socket driven by ``loop.sock_accept``,
  ``loop.sock_recv`` and ``loop.sock_sendall``, one task per connection.
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

MODES = ("streams", "protocol", "buffered", "sock")
READ_SIZE = 256 * 1024  # bytes asked for per read, in every mode
BACKLOG = 4096  # the 1,000-connection sweep connects all at once


class EchoProtocol(asyncio.Protocol):
    """Writes every chunk it receives straight back."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class EchoBufferedProtocol(asyncio.BufferedProtocol):
    """Lets the loop read into its own buffer, then writes the bytes back."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = bytearray(READ_SIZE)
        self.view = memoryview(self.buffer)

    def get_buffer(self, sizehint):
        return self.view

    def buffer_updated(self, nbytes):
        # A copy: a transport may keep what it cannot send at once, and the
        # buffer is reused by the next read. Same cost on every loop.
        self.transport.write(bytes(self.view[:nbytes]))


async def _stream_handler(reader, writer):
    try:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _serve_sock_client(loop, conn):
    try:
        while True:
            data = await loop.sock_recv(conn, READ_SIZE)
            if not data:
                break
            await loop.sock_sendall(conn, data)
    except ConnectionError:
        pass
    finally:
        conn.close()


def _listening_socket(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


async def _sock_server(loop, listener):
    tasks = set()
    while True:
        conn, _addr = await loop.sock_accept(listener)
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = loop.create_task(_serve_sock_client(loop, conn))
        tasks.add(task)  # keep a reference: the loop only holds weak ones
        task.add_done_callback(tasks.discard)


async def start(loop, mode, port):
    """Start serving *mode* on 127.0.0.1:*port*; return the bound port."""
    if mode == "sock":
        for name in ("sock_accept", "sock_recv", "sock_sendall"):
            if not hasattr(loop, name):
                raise NotImplementedError(f"loop has no {name}")
        listener = _listening_socket(port)
        loop.create_task(_sock_server(loop, listener))
        return listener.getsockname()[1]
    # Every server gets the same listening socket (backlog, SO_REUSEADDR).
    listener = _listening_socket(port)
    # Read the port now: rloop detaches the socket object it is given.
    bound = listener.getsockname()[1]
    if mode == "streams":
        server = await asyncio.start_server(_stream_handler, sock=listener, limit=READ_SIZE)
    elif mode == "protocol":
        server = await loop.create_server(EchoProtocol, sock=listener)
    elif mode == "buffered":
        server = await loop.create_server(EchoBufferedProtocol, sock=listener)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    _servers.append(server)  # held for the process's lifetime
    return bound


_servers = []


def main(argv=None):
    """Parse the options, start the server, print READY (or NA) and serve forever."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", required=True, choices=LOOP_NAMES)
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        loop = new_loop(args.loop)
    except Exception as exc:  # not installed, not built
        print(f"NA {args.loop} does not load: {type(exc).__name__}: {exc}", flush=True)
        return 3
    asyncio.set_event_loop(loop)
    try:
        port = loop.run_until_complete(start(loop, args.mode, args.port))
    except (NotImplementedError, AttributeError, TypeError) as exc:
        print(f"NA {args.loop} cannot serve {args.mode}: {type(exc).__name__}: {exc}", flush=True)
        return 3
    # SIGTERM from the driver ends the process at once; nothing to clean up.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print(f"READY {port}", flush=True)
    loop.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
