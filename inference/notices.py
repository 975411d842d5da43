"""Notices a model ships with its artifact (`modelmarket.json`): added to every output as `notice`.

The runtime writes the artifact's English text into the output (the API speaks English); pages show the
translation of the notices the platform knows (the Try-it panel maps the English text to the page's language).
"""
from django.utils.translation import gettext, gettext_noop

NOT_MEDICAL_ADVICE = gettext_noop(
    "Not medical advice and not a medical device: a demonstration model that suggests an urgency level for staff "
    "to check. In an emergency, call your local emergency number.")
DEMO_GRADING = gettext_noop(
    "Demonstration model: the grade comes from the similarity to the reference answer, not from a teacher. "
    "Check any grade that matters.")
KNOWN_NOTICES = (NOT_MEDICAL_ADVICE, DEMO_GRADING)


def notices_translated() -> dict[str, str]:
    """English notice -> its text in the active language (for the Try-it panel)."""
    return {notice: gettext(notice) for notice in KNOWN_NOTICES}
