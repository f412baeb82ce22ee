"""Progress: Redis counters, the rate window, health, the Batch view and status message, task status (24 h), metrics."""
