"""One router per resource: info, health, models, runs, predict, metrics."""
