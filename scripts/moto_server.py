"""Runs moto server (the stand-in for DynamoDB and its Streams) with one request at a time.

moto's DynamoDB backend checks a TransactWriteItems' conditions and applies its writes
without a lock, so two concurrent transactions on the same item can both succeed, which real
DynamoDB (serializable transactions) never allows. Handling one request at a time, behind a
lock, restores that guarantee; connections are still accepted concurrently, so clients see
their requests in flight together as they would against DynamoDB.

Usage: python scripts/moto_server.py [-H 127.0.0.1] [-p 5000]
"""

import argparse
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class OneAtATime:
    """WSGI middleware: each request, response body included, runs under one lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            body = self.app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close:
                    close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, OneAtATime(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
