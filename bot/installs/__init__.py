"""Installing Pipeday into many workspaces (SLACK_CLIENT_ID/SLACK_CLIENT_SECRET mode).

- store.py: slack_sdk's SQLAlchemy installation store on Pipeday's database, its tokens sealed
  with PIPEDAY_SECRET_KEY; the OAuth state store beside it.
- lifecycle.py: which workspaces Pipeday serves (workspace_installs), uninstalls, revocations,
  Enterprise Grid team access, and purges 30 days later (purge.py).
- oauth.py: Bolt's OAuth flow, authorize and the install/uninstall listeners.
- clients.py: a Web API client for any workspace, with its own token and its own pacing.
- rotation.py: refreshing rotating tokens before they expire.
- live_standings.py: live-standings edits with each day's workspace's client.
"""
