"""``python -m churn.cli ...``: the same as ``churn ...``."""

from churn.cli.app import main

main()
