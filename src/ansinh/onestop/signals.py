"""Signals of the one-stop app.

``dossier_changed(dossier_id, step_id)`` is sent after the transaction that received or moved a
dossier has committed; the notice senders listen to it, so a rolled-back move notifies nobody.
"""

from django.dispatch import Signal

dossier_changed = Signal()
