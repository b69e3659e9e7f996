"""Forms of the registry pages. The photo field's face check (``suspects.services.suspect_photo_face_check``) runs
in ``clean_photo`` so its verdict shows as a field error beside the photo, like any other validation."""

from __future__ import annotations

from typing import Any

from django import forms

from suspects.face_check import FaceCheck
from suspects.models import Suspect
from suspects.services import suspect_photo_face_check


class SuspectForm(forms.ModelForm):
    class Meta:
        model = Suspect
        fields = ["name", "external_id", "status", "notes"]
        labels = {"external_id": "External id (case system / warrant number)"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class PhotoForm(forms.Form):
    photo = forms.ImageField(
        label="Reference photo", help_text="JPEG or PNG, one clear front-facing face.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )

    def __init__(self, *args: Any, photo_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photo"].required = photo_required
        self.face_check: FaceCheck | None = None

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo:
            self.face_check = suspect_photo_face_check(upload=photo)
        return photo


class SuspectStatusNoteForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, label="Reason for the change (kept in the audit log)")


class ImportForm(forms.Form):
    archive = forms.FileField(
        label="Zip of suspect folders", help_text="<name>/*.jpg|png, plus an optional suspects.json, "
        "exactly like the import_suspects command. Safe to upload again: nothing is added twice.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
