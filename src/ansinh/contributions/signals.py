"""Signals of the ledger, sent after the commit of the transaction that made the change, so other
apps (the benefits detector) can react without the ledger knowing them:

- ``ledger_written(person_ids, periods)``: ledger rows were written (new contributions);
- ``enrolled(person_ids, periods)``: an employer reported these persons as starting work
  (báo tăng), whether or not the months have ledger rows yet (a start in the current month is
  only billed at the month's end, but it is already news to whoever pays a benefit).
"""

from django.dispatch import Signal

ledger_written = Signal()
enrolled = Signal()
