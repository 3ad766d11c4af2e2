# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: a real RFC 6455 client over HTTP/1.1, standard library only.

Random key, 101 with `Upgrade: websocket`, `Connection: upgrade` and the right `Sec-WebSocket-Accept`, then an
optional masked text frame and its echo, and a clean close. `socketio_probe` takes the path of a browser's
Socket.IO client (Engine.IO v4): long-polling first, one HTTP request per connection as a browser's may reach the
proxy, then the upgrade of that same session to WebSocket.
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
RECORD_SEPARATOR = "\x1e"  # between the packets of an Engine.IO v4 polling payload
# What Engine.IO servers answer (400) for a session id they do not know: python-engineio, then the Node server.
_UNKNOWN_SESSION = ("invalid session", "session id unknown")


class ProbeError(Exception):
    """A failure before any HTTP status: `kind` is connect, timeout or tls; not_sticky when an Engine.IO session
    opened on one backend is unknown to the next request of the same client."""

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
        self.set_cookies = []  # every Set-Cookie value of the last response head (the dict keeps one)

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
        self.set_cookies = []
        for line in lines[1:]:
            name, _c, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
            if name.strip().lower() == "set-cookie":
                self.set_cookies.append(value.strip())
        return int(parts[1]), headers

    def _read_line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProbeError("connect", "the connection closed")
            self.buffer += chunk
        line, _sep, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_body(self, headers, to_close):
        """The body after a response head: chunked, Content-Length, or (to_close) all until the server closes."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self._read_line().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return body
                body += self._read(size)
                self._read(2)
        length = headers.get("content-length", "")
        if length.isdigit():
            return self._read(int(length))
        while to_close:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        data, self.buffer = self.buffer, b""
        return data

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


def _host_value(host_header, host, port):
    if host_header:
        return host_header
    authority = "[%s]" % host if ":" in host else host
    return authority if port in (80, 443) else "%s:%d" % (authority, port)


def _send_head(url, request_lines, host_header, timeout, validate_certs, ca_path, body=b""):
    """Connect, send one request, read the response head. Returns (connection, status, headers)."""
    secure, host, port, _target = split_url(url)
    sock = _connect(secure, host, port, (host_header or host).split(":")[0], timeout, validate_certs, ca_path)
    connection = Connection(sock)
    try:
        sock.sendall(("\r\n".join(request_lines) + "\r\n\r\n").encode("iso-8859-1") + body)
        status, response_headers = connection.read_head()
    except socket.timeout:
        sock.close()
        raise ProbeError("timeout", "no answer from %s:%d within %s s" % (host, port, timeout))
    except (socket.error, ssl.SSLError) as exc:
        sock.close()
        raise ProbeError("connect", "connection to %s:%d failed: %s" % (host, port, exc))
    return connection, status, response_headers


def request(method, url, body=None, host_header=None, headers=None, timeout=5.0, validate_certs=True, ca_path=None):
    """One HTTP/1.1 request on a connection of its own (`Connection: close`): every request reaches the proxy
    anew, as a browser's may. Returns (status, headers, body bytes, Set-Cookie values)."""
    _secure, host, port, target = split_url(url)
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % _host_value(host_header, host, port),
             "Connection: close", "Accept: */*"]
    if body is not None:
        lines += ["Content-Type: text/plain;charset=UTF-8", "Content-Length: %d" % len(body)]
    for name, value in (headers or {}).items():
        lines.append("%s: %s" % (name, value))
    connection, status, response_headers = _send_head(url, lines, host_header, timeout, validate_certs, ca_path,
                                                      body or b"")
    try:
        return status, response_headers, connection.read_body(response_headers, True), connection.set_cookies
    except socket.timeout:
        raise ProbeError("timeout", "no complete answer from %s:%d within %s s" % (host, port, timeout))
    except (socket.error, ssl.SSLError) as exc:
        raise ProbeError("connect", "connection to %s:%d failed: %s" % (host, port, exc))
    finally:
        connection.sock.close()


def handshake(url, host_header=None, origin=None, headers=None, subprotocols=None, timeout=5.0,
              validate_certs=True, ca_path=None):
    """Open a WebSocket. Returns (connection or None, result dict with status, headers, accept_valid, elapsed_ms,
    and the refusal's `body` when the status is not 101)."""
    _secure, host, port, target = split_url(url)
    host_value = _host_value(host_header, host, port)
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
    connection, status, response_headers = _send_head(url, lines, host_header, timeout, validate_certs, ca_path)
    result = {
        "status": status,
        "headers": response_headers,
        "accept_valid": response_headers.get("sec-websocket-accept") == accept_for(key),
        "upgrade_valid": status == 101 and response_headers.get("upgrade", "").lower() == "websocket"
        and "upgrade" in response_headers.get("connection", "").lower(),
        "elapsed_ms": int((time.time() - started) * 1000),
    }
    if status != 101:
        try:
            result["body"] = connection.read_body(response_headers, False)
        except (ProbeError, socket.error, ssl.SSLError, ValueError):
            result["body"] = b""
        connection.sock.close()
        return None, result
    return connection, result


def echo(connection, message):
    """Send a text frame, return the text that comes back."""
    connection.send(OP_TEXT, message.encode("utf-8"))
    opcode, payload = connection.receive()
    if opcode != OP_TEXT:
        raise ProbeError("connect", "expected a text frame back, got opcode %d" % opcode)
    return payload.decode("utf-8")


def decode_payload(body):
    """The packets of an Engine.IO v4 polling payload: text packets separated by the record separator."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return text.split(RECORD_SEPARATOR) if text else []


def encode_payload(packets):
    return RECORD_SEPARATOR.join(packets).encode("utf-8")


def unknown_session(status, body):
    """Whether a response is an Engine.IO server's refusal of a session id it never issued."""
    text = (body.decode("utf-8", "replace") if isinstance(body, bytes) else body or "").lower()
    return status == 400 and any(marker in text for marker in _UNKNOWN_SESSION)


class _Stopped(Exception):
    """A request of the session answered with a status that ends it (reported as the probe's status)."""

    def __init__(self, status, headers):
        super(_Stopped, self).__init__(status)
        self.status = status
        self.headers = headers


class Browser(object):
    """One visitor's Socket.IO client: the connection settings, the cookies the server set, and the requests."""

    def __init__(self, url, host_header=None, origin=None, headers=None, subprotocols=None, timeout=5.0,
                 validate_certs=True, ca_path=None):
        self.url = url + ("&" if "?" in url else "?") + "EIO=4"
        self.host_header = host_header
        self.headers = dict(headers or {})
        if origin:
            self.headers["Origin"] = origin
        self.subprotocols = subprotocols
        self.settings = dict(timeout=timeout, validate_certs=validate_certs, ca_path=ca_path)
        self.cookies = {}
        self.sid = None

    def _headers(self):
        """The request headers with the cookies a browser would send back (sticky cookies of a balancer too)."""
        headers = dict((name, value) for name, value in self.headers.items() if name.lower() != "cookie")
        cookies = [value for name, value in self.headers.items() if name.lower() == "cookie"]
        cookies += ["%s=%s" % item for item in sorted(self.cookies.items())]
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        return headers

    def _poll_url(self):
        # Browsers add a cache buster (`t`) to every polling request.
        token = base64.urlsafe_b64encode(os.urandom(6)).decode("ascii")
        return self.url + "&transport=polling&t=" + token + ("&sid=" + self.sid if self.sid else "")

    def poll(self, body=None):
        """One polling request (POST with body, else GET): the packets that came back."""
        status, headers, data, set_cookies = request(
            "GET" if body is None else "POST", self._poll_url(), None if body is None else encode_payload(body),
            self.host_header, self._headers(), **self.settings)
        for cookie in set_cookies:
            name, _e, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        if self.sid and unknown_session(status, data):
            raise ProbeError("not_sticky", "Engine.IO session %s, opened by one polling request, is unknown to the "
                             "next (%s %s)" % (self.sid, status, data.decode("utf-8", "replace").strip()[:80]))
        if status != 200:
            raise _Stopped(status, headers)
        return decode_payload(data) if body is None else []

    def receive(self, prefix, polls=5):
        """GET until a packet starting with `prefix` arrives (answering pings); returns it."""
        for dummy in range(polls):
            for packet in self.poll():
                if packet.startswith(prefix):
                    return packet
                if packet == "2":
                    self.poll(["3"])
                elif packet == "1":
                    raise ProbeError("connect", "the server closed the Engine.IO session %s" % self.sid)
        raise ProbeError("connect", "no %r packet after %d polling requests" % (prefix, polls))

    def upgrade(self):
        """The WebSocket handshake for the polling session. Returns (connection or None, handshake result)."""
        url = self.url + "&transport=websocket&sid=" + self.sid
        connection, head = handshake(url, self.host_header, None, self._headers(), self.subprotocols, **self.settings)
        body = head.pop("body", b"")
        if connection is None and unknown_session(head["status"], body):
            raise ProbeError("not_sticky", "Engine.IO session %s, opened by polling, is unknown to its WebSocket "
                             "upgrade (%s %s)" % (self.sid, head["status"], body.decode("utf-8", "replace").strip()[:80]))
        return connection, head


def _ws_receive(connection, prefix):
    """The next WebSocket packet starting with `prefix`, answering pings and skipping noops."""
    while True:
        opcode, payload = connection.receive()
        text = payload.decode("utf-8")
        if opcode != OP_TEXT:
            raise ProbeError("connect", "expected an Engine.IO packet, got opcode %d" % opcode)
        if text.startswith(prefix):
            return text
        if text == "2":
            connection.send(OP_TEXT, b"3")
        elif text != "6":
            raise ProbeError("connect", "expected %r over the WebSocket, got %r" % (prefix, text[:80]))


def _event(message):
    return "42" + json.dumps(["message", message])


def _polling(browser, message):
    """Open, namespace connect and (with a message) one event echo over long-polling. Returns the open packet."""
    packets = browser.poll()
    if not packets or not packets[0].startswith("0"):
        raise ProbeError("connect", "expected the Engine.IO open packet, got %r" % (packets[:1] or [""])[0][:80])
    opened = json.loads(packets[0][1:])
    browser.sid = opened.get("sid")
    browser.poll(["40"])
    connected = browser.receive("4")
    if not connected.startswith("40"):
        raise ProbeError("connect", "the Socket.IO connect was refused: %r" % connected[:80])
    if message is not None:
        browser.poll([_event(message)])
        opened["echo"] = json.loads(browser.receive("42")[2:])[1]
    return opened


def _websocket(connection, message):
    """The upgrade of the polling session (2probe, 3probe, 5), then the echo over the WebSocket."""
    try:
        connection.send(OP_TEXT, b"2probe")
        _ws_receive(connection, "3probe")
        connection.send(OP_TEXT, b"5")
        echo = None
        if message is not None:
            connection.send(OP_TEXT, _event(message).encode("utf-8"))
            echo = json.loads(_ws_receive(connection, "42")[2:])[1]
        connection.send(OP_TEXT, b"41")
        return echo
    finally:
        connection.close()


def socketio_session(browser, message=None):
    """One session the way a browser runs it. Returns the upgrade's handshake result with sid and echo (the
    polling echo when it differs from `message`)."""
    started = time.time()
    try:
        opened = _polling(browser, message)
        if "websocket" not in opened.get("upgrades", []):
            raise ProbeError("connect", "the server offers no WebSocket upgrade (upgrades %r)" % opened.get("upgrades"))
        connection, result = browser.upgrade()
    except _Stopped as stop:
        return {"status": stop.status, "headers": stop.headers, "accept_valid": False, "upgrade_valid": False,
                "elapsed_ms": int((time.time() - started) * 1000), "sid": browser.sid, "echo": None}
    result.update(sid=browser.sid, echo=None)
    if connection is not None:
        echo = _websocket(connection, message)
        result["echo"] = opened["echo"] if opened.get("echo") != message else echo
    result["elapsed_ms"] = int((time.time() - started) * 1000)
    return result


def _session_error(exc):
    """A ProbeError for what went wrong inside a session."""
    if isinstance(exc, ProbeError):
        return exc
    if isinstance(exc, socket.timeout):
        return ProbeError("timeout", "no answer within the timeout: %s" % exc)
    return ProbeError("connect", str(exc))


def socketio_probe(url, message=None, sessions=5, **settings):
    """`sessions` browser-style sessions in a row, each a new visitor; stops at the first that fails.
    Returns (result of the last session with `sessions` {succeeded, ran}, ProbeError or None)."""
    counts = {"succeeded": 0, "ran": 0}
    for number in range(1, max(sessions, 1) + 1):
        counts["ran"] = number
        browser = Browser(url, **settings)
        try:
            result = socketio_session(browser, message)
        except (ProbeError, socket.error, ssl.SSLError, ValueError, struct.error) as exc:
            error = _session_error(exc)
            result = {"status": 400 if error.kind == "not_sticky" else None, "headers": {}, "accept_valid": False,
                      "upgrade_valid": False, "echo": None, "elapsed_ms": None, "sid": browser.sid, "sessions": counts}
            return result, ProbeError(error.kind, "session %d of %d: %s" % (number, sessions, error))
        result["sessions"] = counts
        if not (result["status"] == 101 and result["accept_valid"] and result["upgrade_valid"]
                and result["echo"] == message):
            break
        counts["succeeded"] = number
    return result, None
