"""HR's marshmallow schemas for the API, one module per area."""
