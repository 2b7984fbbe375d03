"""The conformance suite: tests that run against a target server."""
