"""The churn HTTP API: serves the champion and the run history (``create_app`` in
``churn.api.app``).

Nothing happens at import time: settings are read, the spec is loaded and the champion is
unpickled only when :func:`churn.api.app.create_app` builds an application and its lifespan starts.
"""
