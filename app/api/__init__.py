"""HTTP API: one blueprint per resource, thin handlers that call the services."""
