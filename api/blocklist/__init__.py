"""Numbers supervisors have blocked: their callers hear a prompt, and only an emergency
key takes them to an officer."""
