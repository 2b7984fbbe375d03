"""Property-based fuzzing of the target with schemathesis."""
