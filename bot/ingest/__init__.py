"""Activity from other systems, at the edge: a batch (the API, `pipeday import`) resolved with
Slack and ingested through bot.domain.ingestion, one transaction per batch."""
