"""Runs moto server (the stand-in for DynamoDB and its Streams) with one request at a time.

moto's DynamoDB backend checks a TransactWriteItems' conditions and applies its writes
without a lock, so two concurrent transactions on the same item can both succeed, which real
DynamoDB (serializable transactions) never allows. Handling one request at a time, behind a
lock, restores that guarantee; connections are still accepted concurrently, so clients see
their requests in flight together as they would against DynamoDB.

moto also backs up every table a TransactWriteItems names with a deep copy — once per item of
the transaction — so that it can roll back: a cost that grows with the table, seconds per
transaction once the local stack's table holds a few thousand items, and minutes when several
wait behind the lock. `cheap_transaction_backups` keeps the rollback but backs up only what a
transaction can change: the partitions it names (deep) and the length of the table's stream.

Usage: python scripts/moto_server.py [-H 127.0.0.1] [-p 5000]
"""

import argparse
import copy
import signal
import sys
import threading
import time

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def cheap_transaction_backups():
    """Replaces moto's whole-table backups of TransactWriteItems with partition backups."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class TablesAreNotCopied:
        """moto's `copy` for its models module: a Table comes back as itself (the wrapper
        below backs up what the transaction can touch); anything else is deep-copied."""

        @staticmethod
        def deepcopy(value, memo=None):
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = TablesAreNotCopied
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        backups = {}
        streams = {}
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Key") or op.get("Item") or {}
            if table is None or table.hash_key_attr not in attrs:
                continue
            partition = DynamoType(attrs[table.hash_key_attr])
            key = (table.name, partition)
            if key not in backups:
                existing = table.items.get(partition) if partition in table.items else None
                backups[key] = (table, partition, copy.deepcopy(existing), partition in table.items)
            if table.stream_shard is not None and table.name not in streams:
                streams[table.name] = (table.stream_shard, len(table.stream_shard.items))
        try:
            return original(self, transact_items)
        except Exception:
            for table, partition, existing, present in backups.values():
                if present:
                    table.items[partition] = existing
                else:
                    table.items.pop(partition, None)
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


class OneAtATime:
    """WSGI middleware: each request, response body included, runs under one lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            started = time.monotonic()
            body = self.app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close:
                    close()
                took = time.monotonic() - started
                # Slow requests hold the lock for everyone: name them in the log.
                if took > SLOW_SECS:
                    target = environ.get("HTTP_X_AMZ_TARGET", "?")
                    print(f"slow moto request: {target} took {took:.1f} s", file=sys.stderr, flush=True)


SLOW_SECS = 1.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    cheap_transaction_backups()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, OneAtATime(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
