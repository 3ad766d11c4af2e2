# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small, real WebSocket echo backend for the tests (standard library, one thread per connection):
GET /health -> 200 {"status":"ok"}; an RFC 6455 upgrade on any other path -> 101, then every text frame is
echoed until the client closes. A plain GET without upgrade headers gets 400, as real backends answer."""

import base64
import hashlib
import socket
import struct
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class EchoBackend(object):
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def stop(self):
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the port listening.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(10)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            lines = data.split(b"\r\n\r\n")[0].decode("iso-8859-1").split("\r\n")
            headers = dict((k.strip().lower(), v.strip()) for k, _c, v in (line.partition(":") for line in lines[1:]))
            self.requests.append((lines[0], headers))
            if lines[0].split()[1] == "/health":
                body = b'{"status":"ok"}'
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n%s" % (len(body), body))
                return
            if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in headers.get("connection", "").lower():
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            self._echo(conn)
        except (OSError, struct.error, KeyError, IndexError):
            pass
        finally:
            conn.close()

    @staticmethod
    def _read(conn, count):
        data = b""
        while len(data) < count:
            chunk = conn.recv(count - len(data))
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    def _echo(self, conn):
        while True:
            first, second = struct.unpack("!BB", self._read(conn, 2))
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(conn, 2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(conn, 8))[0]
            mask = self._read(conn, 4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(conn, length)))
            opcode = first & 0x0F
            if opcode == 0x8:
                conn.sendall(struct.pack("!BB", 0x88, 2) + payload[:2])
                return
            if opcode == 0x1:
                conn.sendall(struct.pack("!BB", 0x81, len(payload)) + payload if len(payload) < 126 else
                             struct.pack("!BBH", 0x81, 126, len(payload)) + payload)
