"""Named SQL files: the ledger DDL for both engines and the extraction and
check queries (`funding.ledger.sql` loads them through importlib.resources,
so an installed package carries them)."""
