"""The post-call survey: a citizen's 1-5 rating of the officer who took the call."""
