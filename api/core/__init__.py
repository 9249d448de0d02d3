"""Shared by every domain: settings, database, errors, auth, clock, AMI control."""
