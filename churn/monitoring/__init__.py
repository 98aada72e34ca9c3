"""Watching the served model between retrainings: drift against the run's reference profile,
the prediction log, and realized performance once outcomes arrive."""
