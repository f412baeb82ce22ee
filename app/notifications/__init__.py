"""Notifications: batch events, the SSE stream, webhook subscriptions, signed deliveries and URL safety."""
