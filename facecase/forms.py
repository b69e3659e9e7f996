from django import forms

from facecase.models import Case


class CaseForm(forms.Form):
    reference = forms.CharField(max_length=64)
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class FootageUploadForm(forms.Form):
    file = forms.FileField(help_text="An image or a video (checked by content, not by name).")


class CaseStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Case.Status.choices)
