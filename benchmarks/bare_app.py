"""The ceiling for R1: a bare Flask JSON route on the same gunicorn settings as banksim."""
from flask import Flask, jsonify


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.get("/bare/balance")
    def balance():
        return jsonify({"account_id": "acc_0", "balance": 12345, "currency": "GBP",
                        "spend_today": 0})

    return app


if __name__ == "__main__":
    import sys

    from bankapi.server import GunicornServer
    port, workers, threads = (int(a) for a in sys.argv[1:4])
    GunicornServer("127.0.0.1", port, workers, threads, factory=create_bare_app).run()
