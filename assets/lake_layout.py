"""Where each asset's partition lives in the lake: one file per asset and period."""

SNAPSHOT = "receivables_snapshot"


def table_path(
    vehicle_id: str, table: str, partition_key: str, ext: str = "parquet"
) -> tuple[str, ...]:
    return (vehicle_id, table, f"{partition_key}.{ext}")


def snapshot_path(partition_key: str) -> tuple[str, str]:
    return (SNAPSHOT, f"{partition_key}.parquet")


def snapshot_meta_path(partition_key: str) -> tuple[str, str]:
    """The cutoff and window a snapshot was read with (for manifests)."""
    return (SNAPSHOT, f"{partition_key}.json")
