"""The Try-it panel's extras for issue 14: answer-grading examples, grade names and known output notices."""
from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..notices import KNOWN_NOTICES, notices_translated
from ..schemas import EXAMPLE_INPUTS

register = template.Library()


GRADE_NAMES = {"correct": gettext_lazy("Correct"), "partial": gettext_lazy("Partly correct"),
               "incorrect": gettext_lazy("Incorrect")}


@register.filter
def grade_name(grade: str) -> str:
    return str(GRADE_NAMES.get(grade, grade))


@register.filter
def notice_text(notice: str) -> str:
    """A model's output notice in the page's language when the platform knows it, else as the model gave it."""
    return _(notice) if notice in KNOWN_NOTICES else notice


def grading_pairs(card: dict) -> list[dict]:
    """The version's own {answer, reference} examples (model card `examples`), else the task's example."""
    pairs = [{"answer": str(item["answer"]), "reference": str(item["reference"]),
              "question": str(item.get("question", ""))}
             for item in card.get("examples") or [] if isinstance(item, dict) and {"answer", "reference"} <= set(item)]
    return pairs[:6] or [{**EXAMPLE_INPUTS["answer-grading"], "question": ""}]


@register.simple_tag
def try_it_extras(version) -> dict:
    card = (version.model_card or {}) if version is not None else {}
    return {
        "pairs": grading_pairs(card) if version is not None and version.task == "answer-grading" else [],
        "i18n": {
            "grades": {key: str(name) for key, name in GRADE_NAMES.items()},
            "score": _("Similarity"), "grade": _("Grade"),
            "notices": notices_translated(),
        },
    }
