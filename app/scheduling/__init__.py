"""Scheduling: cron schedules, their exactly-once runs, and one-off submit_at submissions."""
