"""Data sources other than a local file: files at URLs (``urls``) and a PostgreSQL database
(``{kind: sql}``, ``sql``).

Each source ends in the same contract as a file (:mod:`churn.contract`); nothing here checks
the data. Nothing happens at import time.
"""
