"""SMS: the LAPOR/STATUS commands, the gateways, the inbox."""
