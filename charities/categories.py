"""Charity categories: the IRS NTEE major groups (the first letter of NTEE_CD), in words."""

NTEE_GROUPS = {
    "A": ("arts", "Arts & culture"),
    "B": ("education", "Education"),
    "C": ("environment", "Environment"),
    "D": ("animals", "Animals"),
    "E": ("health", "Health care"),
    "F": ("mental_health", "Mental health"),
    "G": ("disease", "Disease & disorders"),
    "H": ("medical_research", "Medical research"),
    "I": ("legal", "Crime & legal aid"),
    "J": ("employment", "Employment"),
    "K": ("food", "Food & agriculture"),
    "L": ("housing", "Housing & shelter"),
    "M": ("public_safety", "Public safety & disaster relief"),
    "N": ("recreation", "Recreation & sports"),
    "O": ("youth", "Youth development"),
    "P": ("human_services", "Human services"),
    "Q": ("international", "International affairs"),
    "R": ("civil_rights", "Civil rights & advocacy"),
    "S": ("community", "Community improvement"),
    "T": ("philanthropy", "Philanthropy & grantmaking"),
    "U": ("science", "Science & technology"),
    "V": ("social_science", "Social science"),
    "W": ("public_benefit", "Public & societal benefit"),
    "X": ("religion", "Religion"),
    "Y": ("mutual_benefit", "Mutual benefit"),
}
OTHER = ("other", "Other / unclassified")

CATEGORY_CHOICES = [value for value in NTEE_GROUPS.values()] + [OTHER]
CATEGORY_VALUES = [value for value, _ in CATEGORY_CHOICES]
CATEGORY_LABELS = dict(CATEGORY_CHOICES)


def category_for_ntee(ntee_code: str) -> str:
    """'K31' -> 'food'; a blank code or Z ('unknown') -> 'other'."""
    letter = (ntee_code or "").strip()[:1].upper()
    return NTEE_GROUPS.get(letter, OTHER)[0]
