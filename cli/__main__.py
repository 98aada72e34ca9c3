"""``python -m cli ...``: the same as ``churn ...``."""

from cli.app import main

main()
