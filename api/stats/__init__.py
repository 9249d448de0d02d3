"""KPIs from calls and hourly rollups (ASTERISK.md §6), with Asia/Jakarta days."""
