"""Maintenance: the reaper that re-sends lost work and rebuilds Redis, and cleanup of expired leftovers."""
