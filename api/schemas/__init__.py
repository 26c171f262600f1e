"""Pydantic models of the REST API, one per purpose (create / public / list)."""
