"""Forms of the footage pages."""

from __future__ import annotations

from django import forms


class FootageUploadForm(forms.Form):
    file = forms.FileField(help_text="An image or a video (checked by content, not by name).")
