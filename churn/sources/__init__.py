"""Data sources other than a local file: a PostgreSQL database (``{kind: sql}``).

Each source ends in the same contract as a file (:mod:`churn.contract`); nothing here checks
the data. Nothing happens at import time.
"""
