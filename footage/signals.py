"""Signals other apps listen to (footage never imports them)."""

from django.dispatch import Signal

# Sent after the transaction that stored a new Sighting commits; ``sighting_id`` is its primary key. The face-search
# app indexes it and, when it matched no suspect, groups it into an unknown-person profile. A resumed job sends it
# again for the tracks it finds already stored, so receivers must do nothing the second time.
sighting_stored = Signal()

# Sent inside the transaction that replaced a stored Sighting's crops and descriptor (a live camera track whose later
# frames gave better crops); ``sighting_id`` is its primary key. The face-search app records the change there (every
# process's index then replaces the vector) and, after the commit, decides the sighting's unknown-person profile
# again.
sighting_changed = Signal()
