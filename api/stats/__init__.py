"""KPIs from calls and hourly rollups (docs/asterisk.md), with Asia/Jakarta days."""
