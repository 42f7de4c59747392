"""Fake SaaS platforms served on 127.0.0.1 for tests; see `http_server` for the shared server."""
