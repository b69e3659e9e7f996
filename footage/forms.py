"""Forms of the footage pages."""

from __future__ import annotations

from typing import Any

from django import forms


class FootageUploadForm(forms.Form):
    file = forms.FileField(help_text="An image or a video (checked by content, not by name).")


class AlertFilterForm(forms.Form):
    """The alert queue's filters, checked: an unknown status or case, a date that is not one, or From after To is
    said next to its field rather than silently ignored."""

    status = forms.ChoiceField(required=False)
    suspect = forms.CharField(required=False, max_length=200, label="Suspect name or id")
    case = forms.ChoiceField(required=False)
    camera = forms.CharField(required=False, max_length=200, label="Camera or file")
    date_from = forms.DateField(required=False, label="From", input_formats=["%Y-%m-%d"],
                                error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    date_to = forms.DateField(required=False, label="To", input_formats=["%Y-%m-%d"],
                              error_messages={"invalid": "Enter a date as YYYY-MM-DD."})

    def __init__(self, data: Any, *, statuses: list[tuple[str, str]], cases: list[tuple[int, str]]) -> None:
        super().__init__(data)
        self.fields["status"].choices = [("", "Any"), *statuses]
        self.fields["status"].error_messages["invalid_choice"] = "Unknown status “%(value)s”: choose one from the list."
        self.fields["case"].choices = [("", "Any"), *((str(pk), reference) for pk, reference in cases)]
        self.fields["case"].error_messages["invalid_choice"] = "No alert of yours belongs to case “%(value)s”."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", f"“To” ({end:%Y-%m-%d}) is before “From” ({start:%Y-%m-%d}).")
        return data
