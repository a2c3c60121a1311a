"""What `banksim chaos` and `banksim release` say when the address or the token is wrong:
the fix (which variable or option), never a class name or another server's HTML page.
Run as a user runs them: the real `banksim`, BANKSIM_URL and BANKSIM_ADMIN_TOKEN."""
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

BANKSIM = [sys.executable, "-m", "banksim"]
COMMANDS = [("chaos", "status"), ("release", "halt", "4.2.0")]


def banksim(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANKSIM_")}
    result = subprocess.run([*BANKSIM, *args], env={**clean, **env}, capture_output=True,
                            text=True, timeout=60)
    return result.returncode, " ".join(result.stderr.split())


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=["chaos", "release"])
@pytest.mark.parametrize("token", ["wrong-token", ""], ids=["wrong", "unset"])
def test_a_refused_admin_token_names_the_variable_to_set(served, command, token):
    code, said = banksim(*command, BANKSIM_URL=served.url, BANKSIM_ADMIN_TOKEN=token)
    assert code == 1 and said.startswith("Error: 401"), said
    assert "BANKSIM_ADMIN_TOKEN" in said
    assert ("or --token" in said) == (command[0] == "chaos")  # release has no --token


class NotBanksim(BaseHTTPRequestHandler):
    """A web server that is not banksim: an HTML page for every path."""

    def do_GET(self):
        page = (b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head>"
                b"<body>" + b"<p>not here</p>" * 50 + b"</body></html>")
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_PATCH = do_GET

    def log_message(self, *_args):
        pass


@pytest.fixture
def other_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotBanksim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("command", COMMANDS, ids=["chaos", "release"])
def test_a_server_that_is_not_banksim_is_named_not_dumped(other_server, command):
    code, said = banksim(*command, BANKSIM_URL=other_server, BANKSIM_ADMIN_TOKEN="t")
    assert code == 1
    assert "<" not in said and "not here" not in said, said
    assert "'Welcome to nginx!'" in said and "is BANKSIM_URL" in said
    assert "a banksim server?" in said


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "localhost:8000", "bank.example"])
@pytest.mark.parametrize("command", COMMANDS, ids=["chaos", "release"])
def test_a_url_without_its_scheme_says_to_add_it(url, command):
    code, said = banksim(*command, BANKSIM_URL=url, BANKSIM_ADMIN_TOKEN="t")
    assert code == 1 and "Schema" not in said, said
    assert f"'{url}'" in said and "e.g. http://127.0.0.1:8000" in said
