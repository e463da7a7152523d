"""A small Flask app HiveMind can deploy: a page, a JSON API and a health route."""

import os
import socket
from datetime import UTC, datetime

from flask import Flask, jsonify

app = Flask(__name__)
STARTED = datetime.now(UTC)


@app.route("/")
def index():
    greeting = os.environ.get("GREETING", "Hello from HiveMind")
    return f"<h1>{greeting}</h1><p>served by {socket.gethostname()}</p>"


@app.route("/api/time")
def time():
    return jsonify(now=datetime.now(UTC).isoformat(), up_since=STARTED.isoformat())


@app.route("/health")
def health():
    return jsonify(status="ok")


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 5000)))
