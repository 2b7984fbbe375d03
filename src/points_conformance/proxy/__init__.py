"""A reverse proxy that judges live traffic: `points-conformance proxy --upstream URL`.

`forwarding` is the request path (each exchange forwarded unchanged, a copy kept), `watching`
judges the copies off that path with `har`'s matching and judging, `command` runs the proxy
and writes the reports when it stops.
"""
