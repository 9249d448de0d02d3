"""Complaints, their LAPOR! workflow, changes, search, refused ones."""
