"""Signals other apps listen to (footage never imports them)."""

from django.dispatch import Signal

# Sent after the transaction that stored a new Sighting commits; ``sighting_id`` is its primary key. The face-search
# app indexes it and, when it matched no suspect, groups it into an unknown-person profile.
sighting_stored = Signal()
