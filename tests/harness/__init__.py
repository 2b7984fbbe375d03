"""Tests of the harness itself: specs, loaders, checks, reference server, reports."""
