"""Batches: create, add objects, submit, cancel, finalize, retry; each item's claim → extract → store; results."""
