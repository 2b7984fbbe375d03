"""The reference server: a stateful implementation of the ten documented operations.

It is the default target of the conformance suite, an offline sandbox, and the oracle the
suite's self-tests run against (with faults injected through `behaviour.Behaviour` and
`behaviour.Hooks`).
"""
