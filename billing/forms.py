"""Forms of the billing pages; services do the validation that matters and forms show it inline."""
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from config.money import StrictDecimalFormField

from .models import CreditGrant


class TopUpForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form, not at import: the minimum is read from settings when the form is made.
        self.fields["amount"] = StrictDecimalFormField(
            label=_("Amount"), max_digits=12, decimal_places=2, min_value=settings.BILLING_TOPUP_MINIMUM,
            widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))


class BudgetForm(forms.Form):
    monthly_budget = StrictDecimalFormField(label=_("Monthly budget"), required=False, max_digits=18, decimal_places=6,
                                        min_value=0, help_text=_("Leave empty for no budget."))


class CreditGrantForm(forms.ModelForm):
    """The admin's grant form: the service books it, so the form only collects the fields."""

    class Meta:
        model = CreditGrant
        fields = ["user", "amount", "memo"]
