"""The admin client's failures say what to change: the token's source on a 401, and that
the server is not banksim on another server's page (never the page itself)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chaos.client import AdminClient, AdminError


class Answers(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/refused":
            status, kind = 401, "application/json"
            body = json.dumps({"error": {"code": "unauthorized", "message": "no"}}).encode()
        elif self.path == "/ok":
            status, kind, body = 200, "application/json", b'{"enabled": true}'
        else:
            status, kind = 404, "text/html"
            body = b"<!DOCTYPE html><html><title>nginx</title>" + b"x" * 500
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture(scope="module")
def server_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_good_answer_is_its_json(server_url):
    assert AdminClient(server_url, "t")("GET", "/ok") == {"enabled": True}


def test_a_401_names_where_the_token_came_from(server_url):
    client = AdminClient(server_url, "wrong", token_from="--admin-token or BANKSIM_ADMIN_TOKEN")
    with pytest.raises(AdminError) as refused:
        client("GET", "/refused")
    said = str(refused.value)
    assert refused.value.status == 401 and refused.value.code == "unauthorized"
    assert said.startswith("401 unauthorized: no") and "--admin-token" in said
    with pytest.raises(AdminError, match="no admin token given: set BANKSIM_ADMIN_TOKEN"):
        AdminClient(server_url, "")("GET", "/refused")


def test_another_server_s_page_is_named_never_quoted(server_url):
    with pytest.raises(AdminError) as page:
        AdminClient(server_url, "t")("GET", "/elsewhere")
    said = str(page.value)
    assert "<" not in said and "not banksim's JSON" in said and "'nginx'" in said
    assert page.value.status == 404 and page.value.code is None


def test_no_server_and_no_scheme_are_said_in_words():
    with pytest.raises(AdminError, match="nothing answered there"):
        AdminClient("http://127.0.0.1:9", "t")("GET", "/")
    with pytest.raises(AdminError, match="is not a server's URL"):
        AdminClient("127.0.0.1:8000", "t")("GET", "/")
