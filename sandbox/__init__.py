"""A local Asterisk 22 without Docker: a call-center instance and a test "carrier".

Tooling for tests and ``make run``; no runtime package imports it.
"""
