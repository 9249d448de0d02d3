"""SMS: complaints (by keyword or in plain words), STATUS, the gateways, the inbox."""
