-- Applied after a bulk load: foreign keys, the indexes extraction relies on,
-- and the rule that the lines of an entry sum to zero, enforced at commit.

ALTER TABLE accounts ADD FOREIGN KEY (customer_id) REFERENCES customers (customer_id);
ALTER TABLE account_terms ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id);
ALTER TABLE account_flags ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id);
ALTER TABLE credit_scores ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id);
ALTER TABLE journal_entries ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id);
ALTER TABLE journal_entries ADD FOREIGN KEY (reverses_entry_id) REFERENCES journal_entries (entry_id);
ALTER TABLE postings ADD FOREIGN KEY (entry_id) REFERENCES journal_entries (entry_id);
ALTER TABLE delinquency_snapshots ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id);
ALTER TABLE vehicle_designations ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id);

CREATE INDEX journal_entries_posted_at ON journal_entries (posted_at);
CREATE INDEX journal_entries_effective_on ON journal_entries (effective_on);
CREATE INDEX journal_entries_account ON journal_entries (account_id);
CREATE INDEX delinquency_snapshots_as_of ON delinquency_snapshots (as_of);

-- Deferred to commit so that an entry's lines can be inserted one by one.
CREATE FUNCTION postings_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    imbalance BIGINT;
BEGIN
    SELECT COALESCE(SUM(amount_cents), 0) INTO imbalance FROM postings WHERE entry_id = NEW.entry_id;
    IF imbalance <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance: its lines sum to % cents', NEW.entry_id, imbalance;
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER postings_balance
    AFTER INSERT OR UPDATE ON postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION postings_entry_balances();
