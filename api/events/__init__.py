"""AMI events in, one ``Call`` row per call out: storage, derivation and ingest."""
