"""The figure tables of an investor package, built from the lake's tables: the
long format they share (`frame`), the pool figures (`pool`) and the waterfall
figures (`waterfall`, with its `trust` and `notes` sections).

Roll-forward tables (pool, notes, reserve) publish reductions as negative
amounts, so that beginning + the movements between it and the ending
column (or row) = ending, as printed.
"""
