"""Local stand-ins for Slack, shipped with the package so `pipeday demo` needs no test code.

`slack_stub` fakes the Web API (and response/upload URLs) on 127.0.0.1; `slack_requests`
builds requests signed exactly as Slack signs them; `wsgi_server` serves a WSGI app on
loopback; `clock` is a `now` to set and advance. The test suite re-exports them from
`tests/support/`.
"""
