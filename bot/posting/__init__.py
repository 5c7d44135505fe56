"""Posting to Slack channels outside a request/response: used by features and the scheduler."""
