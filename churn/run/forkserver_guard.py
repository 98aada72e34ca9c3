"""Imported first by the training pool's fork server (its preload list), and only there.

Importing it asks the kernel to kill the importing process when its parent ends (see
:mod:`churn.orphans`): the fork server then never outlives ``churn run``, not even while it is
still importing the training stack, and its workers and multiprocessing's resource tracker go
with it. This import-time effect is the module's whole purpose; nothing else imports it.
"""

from __future__ import annotations

from churn.orphans import die_with_parent

die_with_parent()
