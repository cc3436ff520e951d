"""The poll batch follows the bytes read and left to callbacks (ARCHITECTURE.md, "The poll batch").

While protocols hand big reads to callbacks (as asyncio's streams do: data_received
wakes a task), the loop asks the poller for fewer ready fds per poll, so the data is
consumed while still in cache; small reads, or protocols that consume the data inside
data_received, keep the full batch.  tideloop-only: asyncio's selector has no batch.
"""
import asyncio
import socket

import tideloop

CONNS = 40
CHUNK = 64 * 1024
ROUNDS = 3
BIG = ROUNDS * CHUNK


class Collect:
    """Counts bytes and samples the loop's batch; *defer* hands each chunk to call_soon."""

    def __init__(self, loop, seen, want, defer):
        self.loop, self.seen, self.want, self.defer = loop, seen, want, defer
        self.done = loop.create_future()
        self.got = 0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.seen.append(self.loop.statistics()["batch"])
        if self.defer:
            self.loop.call_soon(self._consume, data)
        else:
            self._consume(data)

    def _consume(self, data):
        self.got += len(data)
        if self.got >= self.want and not self.done.done():
            self.done.set_result(None)

    def eof_received(self):
        return None

    def connection_lost(self, exc):
        pass


def _run(defer, small_after, then_consume=False):
    """Serve CONNS socketpairs fed CHUNK bytes each per round (then 100 more if *small_after*).

    Returns the batch sizes seen during the big reads, and the batch after the small
    ones (after 100 more consumed in data_received, if *then_consume*).
    """
    loop = tideloop.new_event_loop()
    pairs = [socket.socketpair() for _ in range(CONNS)]
    try:
        for ours, peer in pairs:
            # Room for the whole message in the kernel, so every fd is ready at once.
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * CHUNK)
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * CHUNK)
        capacity = loop.statistics()["batch_capacity"]
        assert capacity == 256 and loop.statistics()["batch"] == capacity
        seen = []
        protos = []

        async def connect():
            for ours, _ in pairs:
                _, proto = await loop.connect_accepted_socket(
                    lambda: Collect(loop, seen, BIG, defer), ours)
                protos.append(proto)

        loop.run_until_complete(connect())

        async def wait_all():
            for p in protos:
                await p.done

        # In rounds: the batch set by one round's reads shows in the next one's.
        for r in range(1, ROUNDS + 1):
            for p in protos:
                p.want = r * CHUNK
                p.done = loop.create_future()
            for _, peer in pairs:
                peer.sendall(b"x" * CHUNK)
            loop.run_until_complete(wait_all())
        assert all(p.got == BIG for p in protos)
        big_seen = list(seen)
        after = None

        def small_round(payload, defer):
            # 100 more bytes on every connection; returns the batch afterwards.
            for p in protos:
                p.defer = defer
                p.want += 100
                p.done = loop.create_future()
            for _, peer in pairs:
                peer.sendall(payload * 100)
            loop.run_until_complete(wait_all())
            loop.run_until_complete(asyncio.sleep(0))
            assert all(p.got == p.want for p in protos)
            return loop.statistics()["batch"]

        if small_after:
            after = small_round(b"y", defer)
        if then_consume:
            after = small_round(b"z", False)
        for p in protos:
            p.transport.close()
        loop.run_until_complete(asyncio.sleep(0))
        return big_seen, after, capacity
    finally:
        for _, peer in pairs:
            peer.close()
        loop.close()


def test_batch_shrinks_while_big_reads_wait_for_callbacks_then_recovers():
    seen, after, capacity = _run(defer=True, small_after=True)
    # 64 KiB per deferred read: the fewest events (16).
    assert min(seen) < capacity // 8, seen[:50]
    # 100 bytes per deferred read: the batch grows back, and stays below the
    # capacity (the callbacks of 256 connections would not find their
    # objects in cache), ...
    assert 2 * min(seen) < after < capacity, (min(seen), after)


def test_batch_is_full_again_once_nothing_is_deferred():
    # ... until a poll's reads are all consumed in data_received.
    seen, after, capacity = _run(defer=True, small_after=True, then_consume=True)
    assert after == capacity, after


def test_batch_stays_full_when_the_protocol_consumes_in_data_received():
    seen, _, capacity = _run(defer=False, small_after=False)
    assert set(seen) == {capacity}, sorted(set(seen))
