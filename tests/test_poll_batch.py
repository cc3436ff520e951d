"""The poll batch follows the bytes read: fewer ready fds per poll while messages are big.

tideloop-only: asyncio's selector has no batch to size (ARCHITECTURE.md, "The poll batch").
"""
import asyncio
import socket

import tideloop

CONNS = 40
BIG = 192 * 1024


class Collect:
    """Protocol that counts bytes and samples the loop's batch on each call."""

    def __init__(self, loop, seen, done, want):
        self.loop, self.seen, self.done, self.want = loop, seen, done, want
        self.got = 0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.got += len(data)
        self.seen.append(self.loop.statistics()["batch"])
        if self.got >= self.want and not self.done.done():
            self.done.set_result(None)

    def eof_received(self):
        return None

    def connection_lost(self, exc):
        pass


def _feed(peers, size):
    """Write *size* bytes into every peer socket (the kernel buffers them)."""
    for p in peers:
        p.sendall(b"x" * size)


def _serve(loop, socks, size):
    """Connect a Collect protocol on each socket; run until each got *size* bytes."""
    seen = []
    dones = []
    protos = []

    async def main():
        for s in socks:
            done = loop.create_future()
            dones.append(done)
            _, proto = await loop.connect_accepted_socket(
                lambda d=done: Collect(loop, seen, d, size), s)
            protos.append(proto)
        for d in dones:
            await d

    return main, seen, protos


def test_batch_shrinks_for_big_reads_and_recovers_for_small():
    loop = tideloop.new_event_loop()
    pairs = [socket.socketpair() for _ in range(CONNS)]
    try:
        for ours, peer in pairs:
            # Room for the whole message in the kernel, so every fd is ready at once.
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * BIG)
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * BIG)
        peers = [p for _, p in pairs]
        capacity = loop.statistics()["batch_capacity"]
        assert loop.statistics()["batch"] == capacity == 256

        _feed(peers, BIG)
        main, seen, protos = _serve(loop, [s for s, _ in pairs], BIG)
        loop.run_until_complete(main())
        assert all(p.got == BIG for p in protos)
        # ~2 MiB per poll at 64+ KiB per read: well under the full batch.
        assert min(seen) < capacity // 4, seen[:50]

        # Small messages: the next polls ask for the full batch again.
        seen.clear()
        want = BIG + 100
        for p in protos:
            p.want = want
            p.done = loop.create_future()
        _feed(peers, 100)

        async def wait_small():
            for p in protos:
                await p.done

        loop.run_until_complete(wait_small())
        loop.run_until_complete(asyncio.sleep(0))
        assert all(p.got == want for p in protos)
        assert loop.statistics()["batch"] == capacity
        for p in protos:
            p.transport.close()
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        for a, b in pairs:
            b.close()
        loop.close()
        for a, b in pairs:
            a.close()
