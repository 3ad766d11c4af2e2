#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""WebSocket load client for `make bench`: standard library only, runs inside the nginx host container.

It speaks just enough RFC 6455 for an echo backend: HTTP/1.1 upgrade with a random Sec-WebSocket-Key, a
101 status and the matching Sec-WebSocket-Accept, masked text frames out, unmasked frames in, pongs for
pings, and the close handshake.

Load: --connections long-lived connections, each sending one text message per --interval and expecting
it back verbatim within --echo-timeout; plus --handshake-rate short-lived connections per second
(handshake, one echo, clean close) for the whole run.

Protocol on stdout, one JSON object per line, nothing else:
  after the ramp    {"event": "ready", "established": N, "failed": K, "seconds": T}
  after `stop`      {"event": "report", "phases": {NAME: {counters}}, "established_at_end": N}
Commands on stdin, one per line: `phase NAME` starts a counting phase (the first one is "warmup"),
`stop` (or end of input) closes every connection cleanly, prints the report and exits 0.

Counters, attributed to the phase in which the round trip or the handshake began:
  dropped            established long-lived connections closed, reset or silent (the peer's doing);
                     each is counted once, then reopened so the pool stays at --connections
  echo_timeouts      the subset of dropped whose echo did not come within --echo-timeout
  handshakes         new connections attempted: short-lived ones, reopenings (and, in warmup, the ramp)
  failed_handshakes  of those, the ones without a 101, the right accept key and one echo within 5 s
  messages           echoes received on long-lived connections
  seconds            how long the phase lasted
Diagnostics (the first few failure reasons per phase and counter) go to stderr.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import resource
import struct
import sys
import threading
import time
from urllib.parse import urlsplit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_HANDSHAKE_TIMEOUT = 5.0
_CLOSE_TIMEOUT = 2.0
_MAX_PAYLOAD = 1 << 20
_REASONS_PER_COUNTER = 3
_COUNTERS = ("dropped", "failed_handshakes", "handshakes", "messages", "echo_timeouts")


class _WsError(Exception):
    """Protocol violation or refused upgrade."""


class _WsClosed(Exception):
    """The peer sent a close frame."""


# What a failing connection can raise; anything else is a bug and should surface.
_NET_ERRORS = (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, _WsError, _WsClosed)


def _reason(exc):
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed by the peer (%d bytes into a read)" % len(exc.partial)
    return "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__


def _mask(data, key):
    # One big-integer XOR instead of a per-byte Python loop: cheap for the short messages used here.
    size = len(data)
    if not size:
        return data
    pad = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(pad, "big")).to_bytes(size, "big")


def _frame(opcode, payload):
    """A final, masked client frame (RFC 6455 5.2: every client frame is masked)."""
    key = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return header + key + _mask(payload, key)


class _Target:
    """Where to connect and what to send in the upgrade request."""

    def __init__(self, url, host_header):
        parts = urlsplit(url)
        if parts.scheme != "ws" or not parts.hostname:
            raise ValueError("only ws://HOST[:PORT]/PATH URLs are supported: %s" % url)
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        self.host_header = host_header or parts.netloc


class _Connection:
    """One client WebSocket connection over asyncio streams."""

    def __init__(self, reader, writer):
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, target):
        reader, writer = await asyncio.open_connection(target.host, target.port)
        conn = cls(reader, writer)
        try:
            await conn._upgrade(target)
        except BaseException:
            conn.abort()
            raise
        return conn

    async def _upgrade(self, target):
        key = base64.b64encode(os.urandom(16))
        request = (
            "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (target.path, target.host_header, key.decode())
        )
        self._writer.write(request.encode("latin-1"))
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            raise _WsError("status %r" % lines[0])
        headers = dict((name.strip().lower(), value.strip()) for name, sep, value in (line.partition(":") for line in lines[1:]) if sep)
        expected = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise _WsError("bad Sec-WebSocket-Accept %r" % headers.get("sec-websocket-accept"))

    async def send_text(self, text):
        self._writer.write(_frame(_OP_TEXT, text.encode("utf-8")))
        await self._writer.drain()

    async def _read_frame(self):
        first, second = await self._reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self._reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self._reader.readexactly(8))[0]
        if second & 0x80:
            raise _WsError("masked frame from the server")
        if size > _MAX_PAYLOAD:
            raise _WsError("frame of %d bytes" % size)
        payload = await self._reader.readexactly(size) if size else b""
        return bool(first & 0x80), first & 0x0F, payload

    async def receive(self):
        """The next data message as bytes; pings are answered on the way, a close frame raises _WsClosed."""
        parts = []
        while True:
            fin, opcode, payload = await self._read_frame()
            if opcode == _OP_PING:
                self._writer.write(_frame(_OP_PONG, payload))
            elif opcode == _OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self._send_close(code if code != 1005 else 1000)
                raise _WsClosed("close frame %d %s" % (code, payload[2:].decode("utf-8", "replace")))
            elif opcode in (_OP_TEXT, _OP_BINARY, _OP_CONT):
                parts.append(payload)
                if fin:
                    return b"".join(parts)
            # Pongs and reserved opcodes are ignored.

    def _send_close(self, code):
        try:
            self._writer.write(_frame(_OP_CLOSE, struct.pack("!H", code)))
        except OSError:
            pass

    async def echo(self, text, timeout):
        """Send text and wait for it to come back verbatim."""
        await self.send_text(text)
        answer = await asyncio.wait_for(self.receive(), timeout)
        if answer != text.encode("utf-8"):
            raise _WsError("echo mismatch: sent %r, got %r" % (text, answer[:80]))

    async def close(self):
        """Clean close: our close frame, then wait (briefly) for the peer's before dropping TCP."""
        self._send_close(1000)
        try:
            await asyncio.wait_for(self._drain_until_close(), _CLOSE_TIMEOUT)
        except _NET_ERRORS:
            pass
        self.abort()

    async def _drain_until_close(self):
        while True:
            opcode = (await self._read_frame())[1]
            if opcode == _OP_CLOSE:
                return

    def abort(self):
        self._writer.close()


class _Stats:
    """Counters per phase; events are attributed to the phase current when their operation began."""

    def __init__(self):
        self.current = "warmup"
        self.phases = {}
        self._started = time.monotonic()
        self._reasons = {}
        self._open("warmup")

    def _open(self, name):
        self.phases.setdefault(name, dict.fromkeys(_COUNTERS, 0))
        self.phases[name].setdefault("seconds", 0.0)

    def _close_current(self):
        now = time.monotonic()
        self.phases[self.current]["seconds"] = round(self.phases[self.current]["seconds"] + now - self._started, 3)
        self._started = now

    def start_phase(self, name):
        self._close_current()
        self.current = name
        self._open(name)

    def finish(self):
        self._close_current()

    def add(self, phase, counter, reason=None):
        self.phases[phase][counter] += 1
        if reason is None:
            return
        # Only the first few reasons per phase and counter: enough to diagnose, not enough to flood stderr.
        seen = self._reasons.get((phase, counter), 0)
        if seen < _REASONS_PER_COUNTER:
            self._reasons[(phase, counter)] = seen + 1
            sys.stderr.write("wsload: [%s] %s: %s\n" % (phase, counter, reason))
            sys.stderr.flush()


class _Load:
    """The long-lived pool, the short-lived handshakes, and the stdin command loop."""

    def __init__(self, args):
        self.args = args
        self.target = _Target(args.url, args.host_header)
        self.stats = _Stats()
        self.stopping = False
        self.stop_future = None
        self.established = 0
        self.open_slots = None

    async def _handshake(self, phase, with_echo):
        """Open a connection for a handshake attempt; counts the attempt and a failure. None on failure."""
        self.stats.add(phase, "handshakes")
        conn = None
        try:
            conn = await asyncio.wait_for(self._open_and_echo(with_echo), _HANDSHAKE_TIMEOUT)
        except _NET_ERRORS as exc:
            self.stats.add(phase, "failed_handshakes", _reason(exc))
        return conn

    async def _open_and_echo(self, with_echo):
        conn = await _Connection.open(self.target)
        if with_echo:
            try:
                await conn.echo("hello %f" % time.time(), _HANDSHAKE_TIMEOUT)
            except BaseException:
                conn.abort()
                raise
        return conn

    async def _sleep_unless_stopping(self, delay):
        if delay > 0 and not self.stopping:
            # A future, not a task, per wait: cheap, and stop wakes every sleeper at once.
            await asyncio.wait((self.stop_future,), timeout=delay)

    async def _first_open(self):
        async with self.open_slots:
            return await self._handshake("warmup", True)

    async def _reopen(self):
        """Reopen a slot until it works (or we stop); each failure is a failed handshake."""
        while not self.stopping:
            async with self.open_slots:
                conn = await self._handshake(self.stats.current, True)
            if conn is not None:
                return conn
            # Back off with jitter so a backend restart is not answered by a synchronized storm.
            await self._sleep_unless_stopping(1.0 + random.random())
        return None

    async def _long_lived(self, slot, conn):
        """One slot of the pool: echo every interval, reopen after a drop, close cleanly at stop."""
        interval = self.args.interval
        sequence = 0
        while not self.stopping:
            if conn is None:
                conn = await self._reopen()
                if conn is None:
                    break
            self.established += 1
            # Random phase within the interval so the pool's sends are spread out, not in lockstep.
            next_send = time.monotonic() + random.random() * interval
            while not self.stopping:
                await self._sleep_unless_stopping(next_send - time.monotonic())
                if self.stopping:
                    break
                next_send += interval
                sequence += 1
                phase = self.stats.current
                try:
                    await conn.echo("slot %d seq %d" % (slot, sequence), self.args.echo_timeout)
                except _NET_ERRORS as exc:
                    self._count_drop(phase, exc)
                    self.established -= 1
                    conn.abort()
                    conn = None
                    break
                self.stats.phases[phase]["messages"] += 1
                next_send = max(next_send, time.monotonic())  # fell behind: do not burst to catch up
        if conn is not None:
            await conn.close()

    def _count_drop(self, phase, exc):
        if isinstance(exc, asyncio.TimeoutError):
            self.stats.add(phase, "echo_timeouts")
            self.stats.add(phase, "dropped", "no echo within %ss" % self.args.echo_timeout)
        else:
            self.stats.add(phase, "dropped", _reason(exc))

    async def _short_lived(self):
        phase = self.stats.current
        conn = await self._handshake(phase, True)
        if conn is not None:
            await conn.close()

    async def _handshake_generator(self):
        """--handshake-rate new connections per second on a fixed schedule (no drift, no bursts)."""
        if self.args.handshake_rate <= 0:
            return
        period = 1.0 / self.args.handshake_rate
        pending = set()
        next_start = time.monotonic()
        while not self.stopping:
            task = asyncio.ensure_future(self._short_lived())
            pending.add(task)
            task.add_done_callback(pending.discard)
            next_start = max(next_start + period, time.monotonic() - period)
            await self._sleep_unless_stopping(next_start - time.monotonic())
        if pending:
            await asyncio.wait(pending)

    async def run(self):
        loop = asyncio.get_running_loop()
        self.stop_future = loop.create_future()
        self.open_slots = asyncio.Semaphore(self.args.open_concurrency)
        commands = _stdin_lines(loop)
        generator = asyncio.ensure_future(self._handshake_generator())
        started = time.monotonic()
        first = await asyncio.gather(*(self._first_open() for slot in range(self.args.connections)))
        failed = sum(1 for conn in first if conn is None)
        _emit({"event": "ready", "established": len(first) - failed, "failed": failed, "seconds": round(time.monotonic() - started, 3)})
        workers = [asyncio.ensure_future(self._long_lived(slot, conn)) for slot, conn in enumerate(first)]
        await self._commands(commands)
        established_at_end = self.established
        self.stats.finish()
        self.stopping = True
        self.stop_future.set_result(None)
        await asyncio.gather(generator, *workers)
        _emit({"event": "report", "phases": self.stats.phases, "established_at_end": established_at_end})

    async def _commands(self, commands):
        while True:
            line = await commands.get()
            if line is None or line.strip() == "stop":
                return
            words = line.split()
            if len(words) == 2 and words[0] == "phase":
                self.stats.start_phase(words[1])
            elif words:
                sys.stderr.write("wsload: ignoring unknown command %r\n" % line.strip())


def _stdin_lines(loop):
    """Lines of stdin on an asyncio queue (None at EOF), read by a daemon thread.

    A thread works for any kind of stdin (pipe, file, tty) and, being a daemon, never holds up exit.
    """
    queue = asyncio.Queue()

    def _reader():
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
                if line.strip() == "stop":
                    return  # the loop may be gone before another line arrives
        except (OSError, ValueError) as exc:
            sys.stderr.write("wsload: stdin: %s\n" % _reason(exc))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=_reader, name="stdin", daemon=True).start()
    return queue


def _emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _raise_nofile():
    # Each connection is a file descriptor (two through a proxy on the same host); the soft limit is often 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True, help="ws://HOST[:PORT]/PATH")
    parser.add_argument("--host-header", help="Host header to send (default: from the URL)")
    parser.add_argument("--connections", type=int, default=1000, help="long-lived connections")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between messages on each long-lived connection")
    parser.add_argument("--handshake-rate", type=float, default=10.0, help="new short-lived connections per second")
    parser.add_argument("--open-concurrency", type=int, default=100, help="connections opened at once while ramping")
    parser.add_argument("--echo-timeout", type=float, default=5.0, help="seconds to wait for an echo")
    args = parser.parse_args(argv)
    if args.interval <= 0 or args.open_concurrency < 1 or args.connections < 0 or args.echo_timeout <= 0:
        parser.error("--interval and --echo-timeout must be positive, --open-concurrency at least 1")
    return args


def main(argv=None):
    args = _parse_args(argv)
    _raise_nofile()
    asyncio.run(_Load(args).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
