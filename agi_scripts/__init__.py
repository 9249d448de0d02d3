"""Lapor's AGI scripts: one module per dialplan ``AGI(agi://…/<name>)``."""
