"""The funding structure of a vehicle: its configuration (`config`),
eligibility (`eligibility`), the borrowing base and certificate
(`borrowing_base`), index rates (`rates`), triggers (`triggers`) and the
waterfall (`waterfall`)."""
