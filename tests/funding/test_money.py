"""Dollar text from integer cents, exact at any size (a float would round
the cents away above 2**53)."""

from funding.money import dollars


def test_dollars_are_exact_cents_with_thousands_separators():
    assert dollars(123_456_789) == "1,234,567.89"
    assert dollars(-5) == "-0.05"
    assert dollars(0) == "0.00"
    # 2**53 + 1 cents: through a float this prints 90,071,992,547,409.94
    assert dollars(2**53 + 1) == "90,071,992,547,409.93"
