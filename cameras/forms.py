from __future__ import annotations

from typing import Any

from django import forms

from cameras.models import Camera
from facecase.models import Case


class CameraForm(forms.Form):
    name = forms.CharField(max_length=200)
    location = forms.CharField(max_length=200, required=False)
    source_url = forms.CharField(
        max_length=1000, required=False, label="Source",
        help_text="rtsp://…, http(s):// MJPEG, /dev/video0 or a video file path (played in a loop). "
                  "Leave empty when editing to keep the stored source (it is never shown: it may hold credentials).")
    enabled = forms.BooleanField(required=False, initial=True)
    analysis_fps = forms.FloatField(min_value=0.2, max_value=30, initial=5.0, label="Analysis rate (fps)")
    detector = forms.ChoiceField(choices=Camera.Detector.choices, initial=Camera.Detector.HAAR)
    min_face_px = forms.IntegerField(min_value=8, max_value=512, initial=20, label="Minimum face size (px)")
    case = forms.ModelChoiceField(queryset=Case.objects.order_by("reference"), required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing

    def clean_source_url(self) -> str:
        value = self.cleaned_data["source_url"].strip()
        if not value and not self.editing:
            raise forms.ValidationError("a source is required")
        return value
