"""The supervisors' wallboard: the queue and the officers now, today's figures, alerts."""
