"""Prefect flows: thin task wrappers over churn's library functions."""
