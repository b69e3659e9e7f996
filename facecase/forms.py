"""Forms of the core app's pages: new case, case notes and members, the audit filter."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from facecase.notes import NOTE_MAX_CHARS


class CaseForm(forms.Form):
    reference = forms.CharField(max_length=64)
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class CaseNoteForm(forms.Form):
    text = forms.CharField(
        label="Add a note", max_length=NOTE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Notes are kept in the audit log and cannot be edited afterwards.",
    )


class CaseMemberForm(forms.Form):
    username = forms.CharField(label="Add a member (username)", max_length=150)

    def clean_username(self) -> object:
        user = get_user_model().objects.filter(username=self.cleaned_data["username"].strip(), is_active=True).first()
        if user is None:
            raise forms.ValidationError("No active user with that username.")
        return user


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, label="Actor")
    verb = forms.CharField(required=False, label="Verb")
    object_type = forms.CharField(required=False, label="Object type")
    object_id = forms.CharField(required=False, label="Object id")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
