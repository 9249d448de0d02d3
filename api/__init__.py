"""The Lapor Call Center API: the one writer to the database (FastAPI + SQLModel)."""
