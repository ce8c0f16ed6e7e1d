"""Creates the events table of infra/dynamodb/table.json (with its stream and TTL) on a
DynamoDB endpoint such as moto server, through boto3 (moto's own client, in .venv); nothing
happens when the table exists.

Usage: python scripts/create_table.py ENDPOINT TABLE
"""

import json
import pathlib
import sys

import boto3


def main():
    endpoint, name = sys.argv[1:]
    spec = json.loads((pathlib.Path(__file__).parent.parent / "infra/dynamodb/table.json").read_text())
    ttl = spec.pop("TimeToLiveSpecification")
    spec["StreamSpecification"]["StreamEnabled"] = True
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    if name not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(TableName=name, **spec)
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


if __name__ == "__main__":
    main()
