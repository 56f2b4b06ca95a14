"""Object stores (the lake and the publish target share them): the local
folder and a real S3-compatible endpoint on loopback (moto's server, boto3
over HTTP)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from funding.storage.objects import LocalFolderStore, S3Store, store_for
from tests.support.s3_server import S3Endpoint, running_s3


@pytest.fixture(scope="module")
def s3_endpoint():
    with running_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: S3Endpoint) -> str:
    return s3_endpoint.create_bucket()


@pytest.fixture(params=["s3", "local"])
def target(request, tmp_path):
    if request.param == "local":
        return LocalFolderStore(tmp_path / "published")
    endpoint: S3Endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return S3Store(f"s3://{bucket}/packages", client=endpoint.client())


def test_moto_endpoint_honours_if_none_match(s3_endpoint, s3_bucket):
    client = s3_endpoint.client()
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
    assert client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"first"


def test_target_primitives(target):
    assert target.read("a/b.txt") is None
    assert target.exists("a/b.txt") is False
    assert target.create("a/b.txt", b"one") is True
    assert target.create("a/b.txt", b"two") is False
    assert target.read("a/b.txt") == b"one"
    assert target.exists("a/b.txt") is True
    target.write("a/b.txt", b"three")
    target.write("a/c/d.txt", b"four")
    assert target.read("a/b.txt") == b"three"
    assert target.list("a/") == ["a/b.txt", "a/c/d.txt"]
    assert target.list("a/c") == ["a/c/d.txt"]
    assert target.list("zzz") == []
    target.delete("a/b.txt")
    target.delete("a/b.txt")  # absent: no error
    assert target.list("") == ["a/c/d.txt"]
    link = target.link("a/c/d.txt", 300)
    if isinstance(target, S3Store):
        assert (
            link.startswith("http://127.0.0.1") and "Signature" in link or "X-Amz-Signature" in link
        )
        with urllib.request.urlopen(link) as response:
            assert response.read() == b"four"
        assert target.uri("a/c/d.txt") == f"s3://{target.bucket}/packages/a/c/d.txt"
    else:
        assert Path(link).read_bytes() == b"four" and Path(link).is_absolute()
    with pytest.raises(ValueError):
        target.read("../escape")


def test_local_store_leaves_no_temporary_files(tmp_path):
    target = LocalFolderStore(tmp_path)
    target.write("x/y.bin", b"1")
    assert target.create("x/y.bin", b"2") is False
    assert target.create("x/z.bin", b"3") is True
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["y.bin", "z.bin"]


def test_store_for_reads_the_standard_aws_configuration(
    s3_endpoint, s3_bucket, monkeypatch, tmp_path
):
    for name, value in s3_endpoint.env().items():
        monkeypatch.setenv(name, value)
    target = store_for(f"s3://{s3_bucket}/deep/prefix")
    assert isinstance(target, S3Store)
    target.write("k.txt", b"hello")
    assert (
        s3_endpoint.client().get_object(Bucket=s3_bucket, Key="deep/prefix/k.txt")["Body"].read()
        == b"hello"
    )
    assert isinstance(store_for(tmp_path), LocalFolderStore)
    assert isinstance(store_for(f"file://{tmp_path}"), LocalFolderStore)
