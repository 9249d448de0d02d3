"""Callbacks: the IVR's requests, abandoned calls, and dialling them."""
