"""HR's business rules, one module per area; views, API and CLI call these, never the tables."""
