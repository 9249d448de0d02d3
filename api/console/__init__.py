"""The officers' console: a page to take calls and complaints, pushed live."""
