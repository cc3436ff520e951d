"""Shared helpers for the network tests: echo protocols and a test certificate."""
import asyncio
import datetime
import ipaddress
import os
import tempfile


class EchoProtocol(asyncio.Protocol):
    """Server side: writes back every byte it receives; records callbacks."""

    def __init__(self):
        self.calls = []
        self.transport = None
        self.lost = None

    def connection_made(self, transport):
        self.calls.append("CM")
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        self.calls.append("ER")

    def connection_lost(self, exc):
        self.calls.append("CL")
        self.lost = exc


class Collect(asyncio.Protocol):
    """Client side: collects data; futures for connection_lost and a byte count."""

    def __init__(self, loop, want=None):
        self.buf = bytearray()
        self.want = want
        self.got = loop.create_future()
        self.done = loop.create_future()
        self.calls = []
        self.transport = None

    def connection_made(self, transport):
        self.calls.append("CM")
        self.transport = transport

    def data_received(self, data):
        assert isinstance(data, bytes)
        self.buf += data
        if self.want is not None and len(self.buf) >= self.want and not self.got.done():
            self.got.set_result(bytes(self.buf))

    def eof_received(self):
        self.calls.append("ER")

    def connection_lost(self, exc):
        self.calls.append("CL")
        if not self.done.done():
            self.done.set_result(exc)


class BufferedCollect(asyncio.BufferedProtocol):
    """Client side on BufferedProtocol: reads into a small fixed buffer."""

    def __init__(self, loop, want):
        self.mem = bytearray(1000)
        self.buf = bytearray()
        self.want = want
        self.got = loop.create_future()
        self.done = loop.create_future()
        self.sizehints = set()

    def connection_made(self, transport):
        self.transport = transport

    def get_buffer(self, sizehint):
        self.sizehints.add(sizehint)
        return self.mem

    def buffer_updated(self, nbytes):
        self.buf += self.mem[:nbytes]
        if len(self.buf) >= self.want and not self.got.done():
            self.got.set_result(bytes(self.buf))

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(exc)


def make_cert(tmpdir=None, cn="localhost"):
    """A self-signed certificate for localhost/127.0.0.1: (certfile, keyfile)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(cn), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tmpdir = tmpdir or tempfile.mkdtemp()
    certfile = os.path.join(tmpdir, "cert.pem")
    keyfile = os.path.join(tmpdir, "key.pem")
    with open(certfile, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(keyfile, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    return certfile, keyfile
