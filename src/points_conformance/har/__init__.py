"""Recorded traffic (HAR 1.2): judging it with the suite's checks, and writing it from a run.

`reading` streams a HAR file's entries into exchanges, `matching` finds each one's operation,
`judging` runs the checks a run applies to every answer (and `walking` finds the page walks a
client made, for the walk rules), `command` is `points-conformance validate`; `writing` is the
other way round: a run's exchanges as a HAR file (`--record-har`).
"""
