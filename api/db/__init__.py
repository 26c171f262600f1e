"""Persistence of the REST API: ORM models, engines, migrations."""
