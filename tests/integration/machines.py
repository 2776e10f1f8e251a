"""Machines of their own for a test's workers: a network namespace each (`ip netns`), joined to this
host by a veth pair, so a worker and the flow runs it starts reach the Prefect server and
PostgreSQL over a network rather than over 127.0.0.1. The services on this host listen on
127.0.0.1 only, so each is offered on the host's end of every pair by a small forwarder. Made by
the test and removed afterwards; None where namespaces cannot be made (no privilege)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Machine:
    namespace: str
    host_ip: str  # this host as the machine sees it
    own_ip: str

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run on the machine (in its namespace)."""
        return ["ip", "netns", "exec", self.namespace, *argv]


@contextlib.contextmanager
def machines(count: int, ports: list[int]) -> Iterator[list[Machine] | None]:
    """`count` machines, each reaching this host's `ports` (on 127.0.0.1) at its `host_ip`."""
    tag = uuid.uuid4().hex[:6]
    made: list[Machine] = []
    forwards: list[_Forward] = []
    try:
        for n in range(count):
            subnet = 200 + n
            machine = Machine(f"o2c-{tag}-{n}", f"10.213.{subnet}.1", f"10.213.{subnet}.2")
            host_end, own_end = f"o2ch{tag}{n}", f"o2cn{tag}{n}"
            if not _ip("netns", "add", machine.namespace):
                yield None
                return
            made.append(machine)
            steps = [
                ("link", "add", host_end, "type", "veth", "peer", "name", own_end),
                ("link", "set", own_end, "netns", machine.namespace),
                ("addr", "add", f"{machine.host_ip}/24", "dev", host_end),
                ("link", "set", host_end, "up"),
                (
                    "netns",
                    "exec",
                    machine.namespace,
                    "ip",
                    "addr",
                    "add",
                    f"{machine.own_ip}/24",
                    "dev",
                    own_end,
                ),
                ("netns", "exec", machine.namespace, "ip", "link", "set", own_end, "up"),
                ("netns", "exec", machine.namespace, "ip", "link", "set", "lo", "up"),
            ]
            for step in steps:
                assert _ip(*step), step
            forwards += [_Forward((machine.host_ip, port), ("127.0.0.1", port)) for port in ports]
        yield made
    finally:
        for forward in forwards:
            forward.close()
        for machine in made:  # its end of the pair goes with it, and so the host's
            _ip("netns", "delete", machine.namespace)


def _ip(*args: str) -> bool:
    return subprocess.run(["ip", *args], capture_output=True, timeout=30).returncode == 0


class _Forward:
    """Connections to `listen` passed through to `target`, both ways, a thread per direction."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.server = socket.create_server(listen)
        self.target = target
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self.server.close()
        for s in self.open:
            with contextlib.suppress(OSError):
                s.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
