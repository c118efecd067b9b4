"""JSON Schemas of what newswatch sends to webhooks (package data)."""
