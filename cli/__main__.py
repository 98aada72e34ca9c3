"""``python -m churn.cli ...``: the same as ``churn ...``."""

from churn.cli.entry import console_main

console_main()
