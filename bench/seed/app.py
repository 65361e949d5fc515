"""The seed's app1, kept only as a benchmark baseline: two JSON routes on Flask's development server.

This is deliberately the way the pipeline we replace ran it (Werkzeug's dev server, no instrumentation);
never ship it. bench/app_bench.py and the image benchmark measure the real service against it.
"""
import os

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/health")
def health():
    return jsonify(status="ok")


@app.route("/")
def index():
    return jsonify(app="app1", environment=os.environ.get("ENVIRONMENT", "development"),
                   version=os.environ.get("VERSION", "0.0.0"))


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8080")))
