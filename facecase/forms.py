from django import forms


class CaseForm(forms.Form):
    reference = forms.CharField(max_length=64)
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class FootageUploadForm(forms.Form):
    file = forms.FileField(help_text="An image or a video (checked by content, not by name).")
