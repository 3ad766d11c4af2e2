# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: a real RFC 6455 client over HTTP/1.1, standard library only.

Random key, 101 with `Upgrade: websocket`, `Connection: upgrade` and the right `Sec-WebSocket-Accept`, then an
optional masked text frame and its echo, and a clean close. Engine.IO v4 (Socket.IO) adds its open packet and
a namespace connect on top.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


class ProbeError(Exception):
    """A failure before any HTTP status: `kind` is connect, timeout or tls."""

    def __init__(self, kind, message):
        super(ProbeError, self).__init__(message)
        self.kind = kind


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def split_url(url):
    """(scheme, host, port, target) of a ws://, wss://, http:// or https:// URL."""
    scheme, _sep, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme not in ("ws", "wss", "http", "https") or not rest:
        raise ValueError("url=%r: expected ws://, wss://, http:// or https://" % url)
    secure = scheme in ("wss", "https")
    authority, slash, path = rest.partition("/")
    target = "/" + path if slash else "/"
    if authority.startswith("["):
        host, _b, port = authority[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _c, port = authority.partition(":")
    return secure, host, int(port) if port else (443 if secure else 80), target


class Connection(object):
    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProbeError("connect", "the connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_head(self):
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        head, _sep, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ProbeError("connect", "no HTTP response (got %r)" % lines[0][:80])
        headers = {}
        for line in lines[1:]:
            name, _c, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers

    def send(self, opcode, payload):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def receive(self):
        """(opcode, payload) of the next data or close frame; pings are answered."""
        while True:
            first, second = struct.unpack("!BB", self._read(2))
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(length)
            if mask:
                payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
            opcode = first & 0x0F
            if opcode == OP_PING:
                self.send(OP_PONG, payload)
                continue
            return opcode, payload

    def close(self):
        try:
            self.send(OP_CLOSE, struct.pack("!H", 1000))
            self.sock.settimeout(1)
            self.receive()
        except (ProbeError, socket.error, socket.timeout, ssl.SSLError, struct.error):
            pass
        finally:
            self.sock.close()


def _connect(secure, host, port, server_hostname, timeout, validate_certs, ca_path):
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise ProbeError("timeout", "no connection to %s:%d within %s s" % (host, port, timeout))
    except (socket.error, OSError) as exc:
        raise ProbeError("connect", "cannot connect to %s:%d: %s" % (host, port, exc))
    if not secure:
        return sock
    context = ssl.create_default_context(cafile=ca_path) if validate_certs else ssl._create_unverified_context()  # nosec
    try:
        return context.wrap_socket(sock, server_hostname=server_hostname)
    except (ssl.SSLError, ssl.CertificateError) as exc:
        sock.close()
        raise ProbeError("tls", "TLS handshake with %s:%d failed: %s" % (host, port, exc))


def handshake(url, host_header=None, origin=None, headers=None, subprotocols=None, timeout=5.0,
              validate_certs=True, ca_path=None, socketio=False):
    """Open a WebSocket. Returns (connection or None, result dict with status, headers, accept_valid, elapsed_ms)."""
    secure, host, port, target = split_url(url)
    if socketio:
        target += ("&" if "?" in target else "?") + "EIO=4&transport=websocket"
    host_value = host_header or (host if port in (80, 443) else "%s:%d" % (host, port))
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    lines = ["GET %s HTTP/1.1" % target, "Host: %s" % host_value, "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: %s" % key, "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append("Origin: %s" % origin)
    if subprotocols:
        lines.append("Sec-WebSocket-Protocol: %s" % ", ".join(subprotocols))
    for name, value in (headers or {}).items():
        lines.append("%s: %s" % (name, value))
    started = time.time()
    sock = _connect(secure, host, port, (host_header or host).split(":")[0], timeout, validate_certs, ca_path)
    connection = Connection(sock)
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1"))
        status, response_headers = connection.read_head()
    except socket.timeout:
        sock.close()
        raise ProbeError("timeout", "no answer from %s:%d within %s s" % (host, port, timeout))
    except (socket.error, ssl.SSLError) as exc:
        sock.close()
        raise ProbeError("connect", "connection to %s:%d failed: %s" % (host, port, exc))
    result = {
        "status": status,
        "headers": response_headers,
        "accept_valid": response_headers.get("sec-websocket-accept") == accept_for(key),
        "upgrade_valid": status == 101 and response_headers.get("upgrade", "").lower() == "websocket"
        and "upgrade" in response_headers.get("connection", "").lower(),
        "elapsed_ms": int((time.time() - started) * 1000),
    }
    if status != 101:
        sock.close()
        return None, result
    return connection, result


def echo(connection, message):
    """Send a text frame, return the text that comes back."""
    connection.send(OP_TEXT, message.encode("utf-8"))
    opcode, payload = connection.receive()
    if opcode != OP_TEXT:
        raise ProbeError("connect", "expected a text frame back, got opcode %d" % opcode)
    return payload.decode("utf-8")


def socketio_session(connection, message=None):
    """Engine.IO v4 open packet, Socket.IO connect to `/`, and an optional `message` event echo.
    Returns {sid, echo}."""
    opcode, payload = connection.receive()
    text = payload.decode("utf-8")
    if opcode != OP_TEXT or not text.startswith("0"):
        raise ProbeError("connect", "expected the Engine.IO open packet, got %r" % text[:80])
    session = {"sid": json.loads(text[1:]).get("sid"), "echo": None}
    connection.send(OP_TEXT, b"40")
    opcode, payload = connection.receive()
    if not payload.startswith(b"40"):
        raise ProbeError("connect", "the Socket.IO connect was refused: %r" % payload[:80])
    if message is not None:
        connection.send(OP_TEXT, ("42" + json.dumps(["message", message])).encode("utf-8"))
        while True:
            opcode, payload = connection.receive()
            text = payload.decode("utf-8")
            if text == "2":  # Engine.IO ping
                connection.send(OP_TEXT, b"3")
                continue
            if text.startswith("42"):
                session["echo"] = json.loads(text[2:])[1]
                break
    return session
