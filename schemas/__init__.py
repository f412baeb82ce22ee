"""Marshmallow schemas for requests and responses; they import neither app nor tasks."""
