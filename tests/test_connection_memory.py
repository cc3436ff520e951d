"""Memory an idle connection costs the server: no more on tideloop than on asyncio's loop.

A server with many idle connections (websockets, long polls) pays this per
client. tracemalloc counts what Python allocates while N clients connect to a
Protocol server and their transports are made: the accepted socket objects,
transports, protocols and the loop's bookkeeping. The client sockets exist
before tracing starts, so only the server side is counted. On 3.11, measured
while writing this: asyncio ~1,630 bytes per connection, tideloop ~1,360
(~2,210 while its transport face held twelve bound methods of the core).
"""
import asyncio
import gc
import socket
import time
import tracemalloc

import pytest

import tideloop

N = 300  # connections; 2 fds each, within the default 1,024 fd limit


async def _server_bytes_per_connection():
    """Traced bytes per connection while N clients connect and sit idle."""
    loop = asyncio.get_running_loop()
    transports = []

    class Idle(asyncio.Protocol):
        def connection_made(self, transport):
            transports.append(transport)

    server = await loop.create_server(Idle, "127.0.0.1", 0, backlog=N)
    port = server.sockets[0].getsockname()[1]
    clients = [socket.socket() for _ in range(N)]
    for c in clients:
        c.setblocking(False)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for c in clients:
            c.connect_ex(("127.0.0.1", port))
        deadline = time.monotonic() + 20
        while len(transports) < N and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert len(transports) == N, f"only {len(transports)} of {N} connections accepted"
        await asyncio.sleep(0.05)  # connection_made and reading have started
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
        for t in transports:
            t.close()
        for c in clients:
            c.close()
        server.close()
        await server.wait_closed()
    return used / N


def _measure(new_loop):
    loop = new_loop()
    try:
        return loop.run_until_complete(_server_bytes_per_connection())
    finally:
        loop.close()


@pytest.mark.timeout(120)
def test_idle_connection_costs_no_more_than_on_asyncio():
    """Per idle connection, tideloop's server allocates at most what asyncio's does."""
    # Warm-up on both: imports, interned strings, free lists.
    _measure(asyncio.new_event_loop)
    _measure(tideloop.new_event_loop)
    on_asyncio = _measure(asyncio.new_event_loop)
    on_tideloop = _measure(tideloop.new_event_loop)
    assert on_tideloop <= on_asyncio, (
        f"tideloop {on_tideloop:.0f} B per connection, asyncio {on_asyncio:.0f}")
