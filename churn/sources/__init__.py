"""Where data comes from beyond a local file: URLs (``urls``)."""
