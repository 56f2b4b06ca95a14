"""Versioned publishing of investor packages (outputs.md, "Versions and
restatements"): `layout` says where a version lives, `manifest` what it
lists, `diff` what a restatement changed, `protocol` how a version is
claimed and written safely, `verify` how a published one is checked."""

from funding.outputs.publish.diff import tape_diff
from funding.outputs.publish.layout import (
    LATEST,
    MANIFEST,
    is_data_file,
    latest_manifest,
    latest_version,
    package_prefix,
    read_manifest,
    version_key,
    versions,
)
from funding.outputs.publish.manifest import (
    MANIFEST_FIELDS,
    count_rows,
    data_digest,
    data_files_digest,
    sha256_hex,
)
from funding.outputs.publish.protocol import PublishConflict, PublishResult, publish_package
from funding.outputs.publish.verify import verify_location, verify_package

__all__ = [
    "LATEST",
    "MANIFEST",
    "MANIFEST_FIELDS",
    "PublishConflict",
    "PublishResult",
    "count_rows",
    "data_digest",
    "data_files_digest",
    "is_data_file",
    "latest_manifest",
    "latest_version",
    "package_prefix",
    "publish_package",
    "read_manifest",
    "sha256_hex",
    "tape_diff",
    "verify_location",
    "verify_package",
    "version_key",
    "versions",
]
