"""`pipeday demo`: a whole prospecting week played against the real app, a throwaway
database and a fake Slack on 127.0.0.1 — see `simulate.run_demo`."""
