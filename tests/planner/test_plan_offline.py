"""`celltwin plan --llm embedded` makes no network connection: every non-loopback socket is
blocked for the whole plan (model load, proposals, what-ifs, MILP, verification, policy)."""

import ipaddress
import json
import socket

import pytest

from cli.main import main


def _local(host) -> bool:
    h = host.decode() if isinstance(host, bytes) else str(host or "")
    if h in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(h.strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_network(monkeypatch):
    attempts: list[str] = []

    def refuse(what: str) -> OSError:
        attempts.append(what)
        return OSError(f"blocked by test: {what}")

    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            raise refuse(f"connect {address}")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kw):
        if not _local(host):
            raise refuse(f"getaddrinfo {host}")
        return real_getaddrinfo(host, *args, **kw)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_guard_refuses_a_remote_connection(no_network):
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    assert no_network


def test_plan_with_embedded_llm_succeeds_with_sockets_blocked(no_network, capsys, tmp_path):
    code = main(["plan", "--scenario", "hotspot", "--llm", "embedded", "--workers", "1",
                 "--max-iterations", "2", "--lp-dir", str(tmp_path), "--json"])
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    assert no_network == []
    assert plan["verified"] and plan["after"]["peak_prb_util"] <= 0.5
    llm = plan["provenance"]["llm"]
    assert llm["model"]["embedded"] and len(llm["model"]["sha256"]) == 64
    assert llm["rounds"] and llm["rounds"][0]["prompt"] and llm["rounds"][0]["raw"]
