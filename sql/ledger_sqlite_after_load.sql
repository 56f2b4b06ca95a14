-- Indexes extraction relies on, created after a bulk load. Timestamps are
-- indexed in their normalised form, the one the extraction queries compare.
CREATE INDEX journal_entries_posted_at ON journal_entries (strftime('%Y-%m-%d %H:%M:%f', posted_at));
CREATE INDEX journal_entries_effective_on ON journal_entries (effective_on);
CREATE INDEX journal_entries_account ON journal_entries (account_id);
CREATE INDEX delinquency_snapshots_as_of ON delinquency_snapshots (as_of);
