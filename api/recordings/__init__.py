"""The officer-citizen conversations' recordings: who may listen, and serving them."""
