"""TLS and proxies: verification on by default, a CA bundle makes a private CA work, and
HTTP(S)_PROXY / NO_PROXY from the environment are honoured."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from support import keystone_token_response, mock_settings

from tui.cloud import ApiError, MemberStatus
from tui.cloud.http import tls_verify
from tui.settings.model import Settings


class _Keystone401(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.dumps(
            {"error": {"code": 401, "title": "Unauthorized", "message": "TLS works, password not"}}
        ).encode()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Keystone401)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/v3", cert
    finally:
        server.shutdown()
        server.server_close()


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return cert, key


@pytest.fixture
def mtls_server(tmp_path: Path) -> Iterator[tuple[str, Path, Path, Path]]:
    """A TLS server that requires a client certificate (mutual TLS, as some clouds use)."""
    server_cert, server_key = _self_signed(tmp_path, "server")
    client_cert, client_key = _self_signed(tmp_path, "client")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Keystone401)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_cert, server_key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(client_cert)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/v3"
        yield url, server_cert, client_cert, client_key
    finally:
        server.shutdown()
        server.server_close()


async def test_client_certificate_is_presented(mtls_server, make_session):
    url, ca, cert, key = mtls_server
    settings = _settings(url, cacert=str(ca), cert=str(cert), key=str(key))
    with pytest.raises(ApiError) as caught:
        await make_session(settings).token()
    assert caught.value.status == 401  # mutual TLS succeeded; the server then answered
    assert "TLS works" in caught.value.message


async def test_without_the_client_certificate_the_handshake_fails_clearly(
    mtls_server, make_session
):
    url, ca, _cert, _key = mtls_server
    with pytest.raises(ApiError) as caught:
        await make_session(_settings(url, cacert=str(ca))).token()
    assert caught.value.status == 0  # no HTTP answer: the server refused the handshake
    assert "127.0.0.1" in caught.value.message


def _settings(auth_url: str, **extra: object) -> Settings:
    return Settings(
        auth_url=auth_url,
        username="alice",
        password="pw",
        user_domain_name="OTC1",
        project_name="eu-de",
        **extra,  # type: ignore[arg-type]
    )


async def test_unknown_certificate_is_refused_by_default(tls_server, make_session):
    url, _cert = tls_server
    with pytest.raises(ApiError) as caught:
        await make_session(_settings(url)).token()
    assert "certificate" in caught.value.message
    assert "OS_CACERT" in caught.value.hint


async def test_ca_bundle_makes_a_private_ca_work(tls_server, make_session):
    url, cert = tls_server
    with pytest.raises(ApiError) as caught:
        await make_session(_settings(url, cacert=str(cert))).token()
    assert caught.value.status == 401  # the TLS handshake succeeded
    assert "TLS works" in caught.value.message


async def test_verification_can_be_turned_off(tls_server, make_session):
    url, _cert = tls_server
    with pytest.raises(ApiError) as caught:
        await make_session(_settings(url, verify=False)).token()
    assert caught.value.status == 401


def test_tls_settings():
    assert tls_verify(Settings()) is True
    assert tls_verify(Settings(verify=False)) is False
    with pytest.raises(ApiError, match="cannot load TLS files"):
        tls_verify(Settings(cacert="/nonexistent/ca.pem"))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_proxy_from_environment_is_used(demo_cloud, make_session, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(ApiError) as caught:
        await make_session(demo_cloud).token()
    assert "cannot connect" in caught.value.message
    assert demo_cloud.stats.token_requests == 0


async def test_no_proxy_is_honoured(demo_cloud, make_session, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    images = await make_session(demo_cloud).list_shared([MemberStatus.PENDING])
    assert {i.id for i in images} == set(demo_cloud.shared_image_ids("pending"))


async def test_no_token_goes_to_a_remote_http_image_endpoint_from_the_catalog(make_session):
    """The catalog names http://ims.example.test: nothing is sent there, and the error says
    why and what to do; an explicit opt-in lets it through."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/auth/tokens"):
            return keystone_token_response(image_url="http://ims.example.test")
        return httpx.Response(200, json={"images": []})

    transport = httpx.MockTransport(handler)
    session = make_session(mock_settings(), transport=transport, cache=False)
    with pytest.raises(ApiError) as caught:
        await session.list_shared()
    assert "plain http://" in caught.value.message and "ims.example.test" in caught.value.message
    assert "allow_insecure_http" in caught.value.hint
    assert [r.url.host for r in seen] == ["iam.example.test"]  # only the (https) login
    opted_in = make_session(
        mock_settings(allow_insecure_http=True), transport=transport, cache=False
    )
    assert await opted_in.list_shared() == []
    assert any(r.url.host == "ims.example.test" for r in seen)


def test_a_configured_remote_http_image_endpoint_is_refused_before_any_request(config_dir, capsys):
    from tui.cli.main import main

    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(
        'auth_url = "https://iam.example.test/v3"\nusername = "u"\npassword = "p"\n'
        'user_domain_name = "d"\nproject_name = "p"\nims_endpoint = "http://ims.example.test"\n'
    )
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert "IMS endpoint uses plain http://" in err and "allow_insecure_http" in err
