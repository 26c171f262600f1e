"""A network guard for the offline tests: every attempt to reach a host that is not this
machine (a DNS lookup of any other name, a TCP/UDP connect or send to a non-loopback address)
raises ``OSError`` and is written to the log named by ``CELLTWIN_NETGUARD_LOG``.

Installed in the test process by the tests (:func:`install`) and, through the
``sitecustomize`` beside this file (``PYTHONPATH``), in every Python process the tests start:
the API server, its planning worker processes (spawned interpreters inherit the environment)
and the Streamlit server. ``ACTIVE <pid>`` lines prove that a process was guarded, ``BLOCKED``
lines are the leaks.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import traceback
from typing import Any

LOG_ENV = "CELLTWIN_NETGUARD_LOG"
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_ORIGINAL: dict[str, Any] = {}


def is_local_host(host: Any) -> bool:
    """A loopback address, 'localhost', or no host at all (a local bind)."""
    if host is None:
        return True
    h = host.decode() if isinstance(host, bytes) else str(host)
    h = h.strip().strip("[]").split("%", 1)[0].lower()
    if h in ("", "0.0.0.0", "::") or h in LOCAL_NAMES or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False  # any other name needs DNS: that is a leak already


def _address_ok(sock: socket.socket, address: Any) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return True  # AF_UNIX (multiprocessing), netlink: not the network
    host = address[0] if isinstance(address, tuple) and address else address
    return is_local_host(host)


def _log(kind: str, what: str) -> None:
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    stack = "".join(traceback.format_stack(limit=12)[:-2]).replace("\n", " | ")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{kind} pid={os.getpid()} ppid={os.getppid()} {what} :: {stack}\n")


def _blocked(what: str) -> OSError:
    _log("BLOCKED", what)
    return OSError(101, f"celltwin netguard: blocked a connection to {what} (offline test)")


def install() -> None:
    """Patch the socket module in this process (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL.update(connect=socket.socket.connect, connect_ex=socket.socket.connect_ex,
                     sendto=socket.socket.sendto, getaddrinfo=socket.getaddrinfo,
                     gethostbyname=socket.gethostbyname,
                     gethostbyname_ex=socket.gethostbyname_ex)

    def connect(self: socket.socket, address: Any) -> Any:
        if not _address_ok(self, address):
            raise _blocked(f"connect {address!r}")
        return _ORIGINAL["connect"](self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _address_ok(self, address):
            raise _blocked(f"connect_ex {address!r}")
        return _ORIGINAL["connect_ex"](self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> Any:
        address = args[-1]
        if not _address_ok(self, address):
            raise _blocked(f"sendto {address!r}")
        return _ORIGINAL["sendto"](self, data, *args)

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if not is_local_host(host):
            raise socket.gaierror(socket.EAI_NONAME, str(_blocked(f"getaddrinfo {host!r}")))
        return _ORIGINAL["getaddrinfo"](host, *args, **kw)

    def gethostbyname(host: str) -> Any:
        if not is_local_host(host):
            raise socket.gaierror(socket.EAI_NONAME, str(_blocked(f"gethostbyname {host!r}")))
        return _ORIGINAL["gethostbyname"](host)

    def gethostbyname_ex(host: str) -> Any:
        if not is_local_host(host):
            raise socket.gaierror(socket.EAI_NONAME,
                                  str(_blocked(f"gethostbyname_ex {host!r}")))
        return _ORIGINAL["gethostbyname_ex"](host)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    _log("ACTIVE", " ".join(sys.argv[:3]))


def uninstall() -> None:
    if not _ORIGINAL:
        return
    socket.socket.connect = _ORIGINAL["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = _ORIGINAL["connect_ex"]  # type: ignore[method-assign]
    socket.socket.sendto = _ORIGINAL["sendto"]  # type: ignore[method-assign]
    socket.getaddrinfo = _ORIGINAL["getaddrinfo"]
    socket.gethostbyname = _ORIGINAL["gethostbyname"]
    socket.gethostbyname_ex = _ORIGINAL["gethostbyname_ex"]
    _ORIGINAL.clear()


def read_log(path: str | os.PathLike[str]) -> tuple[list[str], list[str]]:
    """(ACTIVE lines, BLOCKED lines) of a guard log."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return [], []
    return ([ln for ln in lines if ln.startswith("ACTIVE")],
            [ln for ln in lines if ln.startswith("BLOCKED")])
