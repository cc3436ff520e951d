"""Networking for tideloop.EventLoop: connections, servers, TLS, UDP, sendfile.

The data path is compiled (tideloop._core.SocketTransport: one per
connected socket; DatagramSocketTransport: one per datagram endpoint).
Everything around it - resolving, happy eyeballs,
binding, accepting, the Server object, TLS via sslproto, sendfile's
fallback - is asyncio's own code for the running Python version, borrowed
method by method onto EventLoop (see install()).  That code only needs the
loop's _add_reader/_remove_reader/_add_writer/_remove_writer, _transports
and the _make_*_transport factories below, so its behaviour, messages and
per-version differences are asyncio's exactly.
"""
import inspect
import os
import sys
from asyncio import base_events, selector_events, sslproto, unix_events

from ._core import SocketTransport
from ._core.core import DatagramSocketTransport
from ._core import core as _core

__all__ = ("install",)


class _NetMethods:
    """Loop methods asyncio has but names its own classes in (rewritten)."""

    def _make_socket_transport(self, sock, protocol, waiter=None, *,
                               extra=None, server=None):
        if sys.version_info >= (3, 12):
            self._ensure_fd_no_transport(sock)
        return SocketTransport(self, sock, protocol, waiter, extra, server)

    def _make_ssl_transport(
            self, rawsock, protocol, sslcontext, waiter=None,
            *, server_side=False, server_hostname=None,
            extra=None, server=None,
            ssl_handshake_timeout=None,
            ssl_shutdown_timeout=None):
        # selector_events' version with our transport under sslproto.
        from asyncio import constants
        if ssl_handshake_timeout is None:
            ssl_handshake_timeout = constants.SSL_HANDSHAKE_TIMEOUT
        if ssl_shutdown_timeout is None:
            ssl_shutdown_timeout = constants.SSL_SHUTDOWN_TIMEOUT
        if sys.version_info >= (3, 12):
            self._ensure_fd_no_transport(rawsock)
        ssl_protocol = sslproto.SSLProtocol(
            self, protocol, sslcontext, waiter,
            server_side, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
        SocketTransport(self, rawsock, ssl_protocol, None, extra, server)
        return ssl_protocol._app_transport

    def _make_datagram_transport(self, sock, protocol,
                                 address=None, waiter=None, extra=None):
        if sys.version_info >= (3, 12):
            self._ensure_fd_no_transport(sock)
        return DatagramSocketTransport(self, sock, protocol, address, waiter, extra)

    def _stop_serving(self, sock):
        # selector_events' plus 3.13's unlink of a Unix server's path (the
        # dict is only filled by 3.13's create_unix_server).
        unix = getattr(self, "_unix_server_sockets", {})
        path = sock.getsockname() if sock in unix else None
        self._remove_reader(sock.fileno())
        sock.close()
        if path is not None:
            prev_ino = unix.pop(sock)
            try:
                if os.stat(path).st_ino == prev_ino:
                    os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as err:
                base_events.logger.error(
                    "Unable to clean up listening UNIX socket %r: %r", path, err)


def _copy(cls, source, names):
    for name in names:
        # getattr_static keeps staticmethod/classmethod wrappers intact.
        setattr(cls, name, inspect.getattr_static(source, name))


def install(cls):
    """Give loop class *cls* asyncio's networking methods (see module doc)."""
    # Compiled sock_* with lazy unregistration (transports/sockops.pxi);
    # they replace asyncio's borrowed ones listed in _loop.py.
    for name in ("sock_recv", "sock_recv_into", "sock_sendall"):
        setattr(cls, name, getattr(_core, name))
    _copy(cls, _NetMethods, [
        "_make_socket_transport", "_make_ssl_transport",
        "_make_datagram_transport", "_stop_serving",
    ])
    _copy(cls, base_events.BaseEventLoop, [
        "create_connection", "_create_connection_transport", "_connect_sock",
        "create_server", "connect_accepted_socket",
        "create_datagram_endpoint",
        "start_tls", "sendfile", "_sendfile_fallback",
    ] + [n for n in ("_create_server_getaddrinfo",)
         if hasattr(base_events.BaseEventLoop, n)])
    _copy(cls, selector_events.BaseSelectorEventLoop, [
        "_start_serving", "_accept_connection", "_accept_connection2",
        "_sendfile_native",
    ])
    _copy(cls, unix_events._UnixSelectorEventLoop, [
        "create_unix_connection", "create_unix_server",
    ])
