-- Whether journal_entries.idempotency_key is backed by a unique index
-- (PostgreSQL catalog). SQLite is asked through PRAGMA index_list/index_info.
SELECT COUNT(*)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey)
WHERE t.relname = 'journal_entries'
  AND i.indisunique
  AND i.indnkeyatts = 1
  AND a.attname = 'idempotency_key'
