"""Access: API keys and their CLI, the per-key rate limit, and Idempotency-Key records."""
