"""Scale benchmark: churn run vs a plain script at 100k-5M synthetic rows (not a test)."""
