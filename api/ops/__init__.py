"""Operations commands: backup and restore, copying a database (docs/operations.md)."""
