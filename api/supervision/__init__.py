"""Supervisors listen to, whisper to or join an officer's call (ChanSpy), each use logged."""
