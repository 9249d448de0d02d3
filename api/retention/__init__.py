"""Retention of personal data (UU 27/2022): callers' numbers and recordings past the
configured age are purged daily; a citizen's data is exported or erased on request."""
