"""Complaints the API refused, held for a supervisor to re-file (service, routes)."""
