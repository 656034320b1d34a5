"""Writes sigv4-vectors.json: requests signed by botocore's S3 SigV4 signer at a fixed time, for SigV4Tests.

Run with botocore installed (`pip install botocore`): python3 make_vectors.py > sigv4-vectors.json
Each vector holds the request as the signer's caller gives it (method, decoded path, decoded query pairs, headers,
body) and what botocore added: the headers x-amz-date, x-amz-content-sha256, x-amz-security-token, authorization.
"""
import datetime
import json
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TIME = datetime.datetime(2026, 12, 7, 10, 15, 30)
botocore.auth.get_current_datetime = lambda: TIME

KEY, SECRET = "AKIAESTUARYEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CASES = [
    dict(name="put chunk object", method="PUT", host="127.0.0.1:9000",
         path="/loki-chunks/fake/3a5b1c0d2e4f6a7b/MTk0ZjM6MTk0ZjQ6YWJjZGVm", query=[],
         headers=[["Content-Type", "application/octet-stream"], ["Content-Length", "11"]], body="hello chunk"),
    dict(name="ranged get with a session token", method="GET", host="loki-chunks.s3.eu-west-1.amazonaws.com",
         path="/fake/index_20429/compacted.tsdb", query=[], headers=[["Range", "bytes=100-1999"]], body="",
         token="IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc=", region="eu-west-1"),
    dict(name="list objects v2 with continuation", method="GET", host="127.0.0.1:9000", path="/loki-chunks",
         query=[["list-type", "2"], ["prefix", "fake/index_20429/"], ["max-keys", "1000"],
                ["continuation-token", "1/abc+def=="], ["delimiter", "/"]], headers=[], body=""),
    dict(name="create multipart upload", method="POST", host="127.0.0.1:9000", path="/bucket/big object.bin",
         query=[["uploads", ""]], headers=[["x-amz-server-side-encryption", "aws:kms"],
                                           ["x-amz-server-side-encryption-aws-kms-key-id", "alias/loki"]], body=""),
    dict(name="upload part", method="PUT", host="127.0.0.1:9000", path="/bucket/big object.bin",
         query=[["partNumber", "2"], ["uploadId", "VXBsb2FkIElE~x_y.z"]], headers=[], body="part two bytes"),
    dict(name="unicode and reserved characters in the key", method="GET", host="127.0.0.1:9000",
         path="/bucket/tenant é/a+b=c&d~e!f'(g)*h;i:j@k$l,m", query=[], headers=[], body=""),
    dict(name="header values are trimmed and inner spaces collapsed", method="DELETE", host="s3.amazonaws.com",
         path="/bucket/k", query=[], headers=[["X-Custom", "  a   b  c "], ["x-amz-meta-Tag", "one"]], body="",
         region="us-west-2"),
    dict(name="delete objects with a body", method="POST", host="127.0.0.1:9000", path="/bucket",
         query=[["delete", ""]], headers=[["Content-Type", "application/xml"], ["Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="]],
         body="<Delete><Object><Key>a</Key></Object></Delete>"),
]

vectors = []
for case in CASES:
    region = case.get("region", "us-east-1")
    credentials = Credentials(KEY, SECRET, case.get("token"))
    url = "http://" + case["host"] + quote(case["path"], safe="/~")
    headers = {"Host": case["host"]}
    headers.update({name: value for name, value in case["headers"]})
    request = AWSRequest(method=case["method"], url=url, data=case["body"].encode() if case["body"] else None,
                         params=[tuple(pair) for pair in case["query"]] or None, headers=headers)
    botocore.auth.S3SigV4Auth(credentials, "s3", region).add_auth(request)
    added = {name.lower(): request.headers[name] for name in
             ("X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token", "Authorization") if name in request.headers}
    vectors.append({
        "name": case["name"], "method": case["method"], "path": case["path"], "query": case["query"],
        "headers": [["Host", case["host"]]] + case["headers"], "body": case["body"], "region": region,
        "service": "s3", "access_key_id": KEY, "secret_access_key": SECRET, "session_token": case.get("token"),
        "time": TIME.strftime("%Y%m%dT%H%M%SZ"), "added": added,
    })
print(json.dumps({"generator": "botocore " + botocore.__version__ + " S3SigV4Auth", "vectors": vectors}, indent=1,
                 ensure_ascii=False))
