"""The AMI collectors' own reports: is each one alive, and does it reach its Asterisk."""
