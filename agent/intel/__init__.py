"""Endpoint intelligence: who and where an address is, from the providers' own published files,
the operator's own sites and country data, compiled into one longest-prefix-match table."""
