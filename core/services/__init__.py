"""Business rules of core, as plain functions over a SQLAlchemy Session.

Views, the REST API and the CLI are thin adapters over these functions. The
caller owns the transaction (one per business action); services flush, they
never commit.
"""
