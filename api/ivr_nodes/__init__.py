"""IVR nodes: the node-id leases that keep tickets unique."""
