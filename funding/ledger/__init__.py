"""Ledger and extraction: the ledger contract (`snapshot`), period closes and
windows (`closes`), read-only access to the database (`database`, adapter),
named SQL (`sql`), the receivables extraction (`extract`) and the bulk
writer of a fresh ledger (`writer`, adapter)."""
