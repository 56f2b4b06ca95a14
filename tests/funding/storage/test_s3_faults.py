"""S3 publishing survives transient faults, and what it stores is protected.

Faults are injected for real: boto3 talks HTTP to a proxy on loopback
(`tests.support.fault_proxy`) that answers 500 or 503 SlowDown, resets the
connection or stays silent past the read timeout, in front of moto's S3
server. Nothing of ours is patched.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from funding.outputs.publish import verify_package
from funding.storage.objects import S3Options, S3Store
from tests.funding.outputs.test_publish import BASE, PERIOD, VEHICLE, publish, spec_keys, tape_of
from tests.funding.outputs.test_tape import make_pool
from tests.support.fault_proxy import fault_proxy
from tests.support.s3_server import S3Endpoint, running_s3

FIXED = datetime(2025, 4, 4, 9, 30, tzinfo=UTC)
# Every kind of fault, several times over, among the first requests; standard
# mode allows 8 attempts, so each request meets at most 4 faults in a row.
FAULTS = ["503", "500", "reset", "slow", None, "503", "reset", None, "500", "slow", "503", None]
FAST = S3Options(read_timeout=1.0, connect_timeout=2.0)


@pytest.fixture(scope="module")
def s3_endpoint():
    with running_s3() as endpoint:
        yield endpoint


def client_at(url: str, endpoint: S3Endpoint, options: S3Options):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=endpoint.region,
        aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key,
        config=options.botocore_config(),
    )


def stored(endpoint: S3Endpoint, bucket: str) -> dict[str, bytes]:
    client = endpoint.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in sorted(keys)}


def test_publishing_through_faults_stores_the_same_bytes_as_a_clean_run(s3_endpoint):
    tape = tape_of(make_pool(40))
    clean_bucket, faulty_bucket = s3_endpoint.create_bucket(), s3_endpoint.create_bucket()
    clean = S3Store(f"s3://{clean_bucket}/packages", client=s3_endpoint.client(), options=FAST)
    publish(clean, tape, clock=lambda: FIXED)

    with fault_proxy(s3_endpoint.url, FAULTS, slow_seconds=1.5) as (url, log):
        faulty = S3Store(
            f"s3://{faulty_bucket}/packages", client=client_at(url, s3_endpoint, FAST), options=FAST
        )
        result = publish(faulty, tape, clock=lambda: FIXED)
    assert log.injected == [f for f in FAULTS if f is not None]  # every fault was met
    assert (result.version, result.published) == (1, True)

    expected = stored(s3_endpoint, clean_bucket)
    got = stored(s3_endpoint, faulty_bucket)
    assert sorted(got) == [f"packages/{k}" for k in spec_keys(1)]
    assert got == expected  # byte for byte what a clean run stores
    manifest = json.loads(got[f"packages/{BASE}/v1/manifest.json"])
    for name, entry in manifest["files"].items():
        assert hashlib.sha256(got[f"packages/{BASE}/v1/{name}"]).hexdigest() == entry["sha256"]
    assert verify_package(faulty, VEHICLE, PERIOD) == []


def test_without_retries_the_same_faults_stop_the_publish(s3_endpoint):
    # The proxy's faults are real: with a single attempt the first one is fatal.
    bucket = s3_endpoint.create_bucket()
    once = S3Options(max_attempts=1, read_timeout=1.0)
    with fault_proxy(s3_endpoint.url, FAULTS, slow_seconds=1.5) as (url, log):
        target = S3Store(f"s3://{bucket}/p", client=client_at(url, s3_endpoint, once), options=once)
        with pytest.raises(Exception) as caught:
            publish(target, tape_of(make_pool(5)))
    assert log.injected == ["503"]
    assert "SlowDown" in str(caught.value)


def test_options_come_from_the_standard_variables():
    options = S3Options.from_env(
        {
            "AWS_RETRY_MODE": "adaptive",
            "AWS_MAX_ATTEMPTS": "5",
            "S3_READ_TIMEOUT": "12",
            "S3_SERVER_SIDE_ENCRYPTION": "aws:kms",
            "S3_SSE_KMS_KEY_ID": "alias/funding",
        }
    )
    config = options.botocore_config()
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert (config.read_timeout, config.connect_timeout) == (12.0, 5.0)
    assert options.put_arguments() == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/funding",
    }
    defaults = S3Options.from_env({})
    assert defaults.botocore_config().retries == {"mode": "standard", "total_max_attempts": 8}
    assert defaults.put_arguments() == {"ServerSideEncryption": "AES256"}
    for bad in (
        {"AWS_RETRY_MODE": "never"},
        {"AWS_MAX_ATTEMPTS": "lots"},
        {"S3_SERVER_SIDE_ENCRYPTION": "rot13"},
        {"S3_SSE_KMS_KEY_ID": "k"},  # a KMS key without aws:kms
    ):
        with pytest.raises(ValueError):
            S3Options.from_env(bad)


# --------------------------------------------------------------------------- protection at rest


def test_every_published_object_is_encrypted_at_rest(s3_endpoint, monkeypatch):
    bucket = s3_endpoint.create_bucket()
    for name, value in s3_endpoint.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("S3_SERVER_SIDE_ENCRYPTION", raising=False)
    target = S3Store(f"s3://{bucket}/packages")  # its own client, options from the environment
    publish(target, tape_of(make_pool(10)))
    client = s3_endpoint.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(keys) == [f"packages/{k}" for k in spec_keys(1)]
    for key in keys:
        assert client.head_object(Bucket=bucket, Key=key).get("ServerSideEncryption") == "AES256"

    kms = S3Options(server_side_encryption="aws:kms", kms_key_id="alias/funding")
    S3Store(f"s3://{bucket}/kms", client=client, options=kms).write("a/b.json", b"{}")
    head = client.head_object(Bucket=bucket, Key="kms/a/b.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/funding")


def test_presigned_links_expire_as_configured(s3_endpoint):
    bucket = s3_endpoint.create_bucket()
    options = S3Options()
    target = S3Store(
        f"s3://{bucket}/p", client=client_at(s3_endpoint.url, s3_endpoint, options), options=options
    )
    target.write("wh1/file.csv", b"a,b\n1,2\n")
    hours = 72
    url = target.link("wh1/file.csv", hours * 3600)
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(72 * 60 * 60)]
    with urllib.request.urlopen(url) as response:  # before expiry: the bytes
        assert response.read() == b"a,b\n1,2\n"

    # The link's validity ends exactly `hours` after it was signed. (moto's
    # server does not refuse expired links, so the end is checked in the URL.)
    query = parse_qs(urlsplit(url).query)
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((signed - datetime.now(UTC)).total_seconds()) < 60
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
