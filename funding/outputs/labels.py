"""How the investor report names things: ratios, delinquency buckets,
stratification dimensions, waterfall steps, triggers and effects, in the
words a reader of a servicer report expects. The published figure tables
carry these labels, so the Parquet and the report read alike."""

from __future__ import annotations

RATIO_LABELS = {
    "payment_rate": "Monthly payment rate",
    "gross_chargeoff_rate": "Gross charge-off rate (annualised)",
    "net_chargeoff_rate": "Net charge-off rate (annualised)",
    "portfolio_yield": "Portfolio yield (annualised)",
    "purchase_rate": "Purchase rate",
    "delinquency_60_plus": "60+ day delinquency",
}
AVERAGE_SUFFIX = ", 3-month average"
NEEDS_THREE_MONTHS = "n/a (needs 3 months)"
NO_VALUE = "n/a"
NOT_DEFINED = "–"  # the vehicle defines no such figure

BUCKET_LABELS = {
    "current": "Current",
    "1_29": "1–29 days",
    "30_59": "30–59 days",
    "60_89": "60–89 days",
    "90_119": "90–119 days",
    "120_149": "120–149 days",
    "150_179": "150–179 days",
    "180_plus": "180+ days",
    "charged_off": "Charged off",
    "closed/paid": "Closed or paid off",
}

DIMENSION_LABELS = {
    "origination_fico": "origination FICO",
    "current_fico": "current FICO",
    "credit_limit": "credit limit",
    "balance": "balance",
    "apr": "APR",
    "months_on_book": "months on book",
    "state": "billing state",
    "delinquency_bucket": "delinquency",
    "risk_grade": "risk grade",
}
BAND_LABELS = {
    "missing": "Missing",
    "other": "Other",
    "zero": "Zero",
    "credit balance": "Credit balance",
}

MEASURE_LABELS = {
    "finance_charge_collections": "Finance charge collections",
    "interest_collections": "Interest collections",
    "fee_collections": "Fee collections",
    "recoveries": "Recoveries",
    "principal_collections": "Principal collections",
    "chargeoff_principal": "Defaulted amount (principal charged off)",
}

TRIGGER_VALUE_LABELS = {
    "excess_spread": "Excess spread",
    "excess_spread_3m_avg": "3-month average excess spread",
    "seller_interest_to_invested": "Seller's interest, % of invested amount",
    "borrowing_base_deficiency": "Borrowing base deficiency",
    **{
        f"{name}_3m_avg": f"3-month average {label[0].lower()}{label[1:]}"
        for name, label in RATIO_LABELS.items()
    },
    **RATIO_LABELS,
}
# Trigger values that are money amounts in cents, not ratios (funding.md).
MONEY_RATIOS = frozenset({"borrowing_base_deficiency"})
OPERATOR_WORDS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}
EFFECT_LABELS = {"early_amortization": "Early amortization", "cash_trap": "Cash trap"}
STATUS_LABELS = {
    "revolving": "Revolving",
    "amortizing": "Amortizing (scheduled)",
    "early_amortization": "Early amortization",
}


def ratio_label(name: str) -> str:
    """`payment_rate` as "Monthly payment rate", `payment_rate_3m_avg` as
    "Monthly payment rate, 3-month average"; unknown names readable."""
    if name.endswith("_3m_avg"):
        return ratio_label(name.removesuffix("_3m_avg")) + AVERAGE_SUFFIX
    return RATIO_LABELS.get(name) or _words(name)


def trigger_value_label(ratio: str) -> str:
    return TRIGGER_VALUE_LABELS.get(ratio) or ratio_label(ratio)


def bucket_label(bucket: str) -> str:
    return BUCKET_LABELS.get(bucket, bucket)


def band_label(dimension: str, band: str) -> str:
    if dimension == "delinquency_bucket":
        return bucket_label(band)
    return BAND_LABELS.get(band, band)


def name_label(name: str) -> str:
    """`trustee_fee` as "Trustee fee"."""
    return _words(name)


def class_label(name: str) -> str:
    return f"Class {name}"


def _words(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def statement_label(waterfall: str, action: str, target: str) -> str:
    """A statement row as a priority of payments reads, e.g. "Class A interest"."""
    cls = class_label(target)
    labels = {
        "reserve_release": "Release of reserve excess to interest funds",
        "fee": name_label(target),
        "interest": f"{cls} interest",
        "defaulted_amount": "Investor defaulted amount (to principal funds)",
        "chargeoff_reimbursement": f"Reimbursement of {cls} charge-offs (to principal funds)",
        "reserve_deposit": "Reserve account deposit",
        "release_to_reserve": "Excess spread retained in the reserve (cash trap)",
        "borrowing_base_cure": f"{cls} principal to cure the borrowing base deficiency",
        "principal_sequential": f"{cls} principal",
        "principal_pro_rata": f"{cls} principal (pro rata)",
        "draw": f"New advances drawn ({cls})",
    }
    if action == "release":
        return (
            "Excess spread released to the seller"
            if waterfall == "interest"
            else "Principal collections released to the seller"
        )
    return labels.get(action) or f"{_words(action)} {target}".strip()
