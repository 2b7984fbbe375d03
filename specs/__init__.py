"""The specification files (OpenAPI, catalogue, discrepancies, examples) as package data."""
