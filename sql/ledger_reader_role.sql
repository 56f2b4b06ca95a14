-- Least privilege for the funding platform: the role LEDGER_URL names reads
-- the ledger and can write nothing.
--
-- Run once as the ledger's owner, connected to the ledger's database
-- (idempotent). Then give the role a password or a client certificate
-- (ALTER ROLE funding_reader PASSWORD '...') and put it in LEDGER_URL:
--   postgresql+psycopg://funding_reader:...@ledger-host/ledger
-- Defence in depth: every session of the role is read-only by default, and
-- the extraction also runs each transaction READ ONLY itself
-- (funding.ledger.database.read_ledger), so a write fails twice over.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'funding_reader') THEN
        CREATE ROLE funding_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    END IF;
END
$$;
ALTER ROLE funding_reader SET default_transaction_read_only = on;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM funding_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO funding_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO funding_reader;
-- Tables the owner adds later are readable too (and only readable).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO funding_reader;
