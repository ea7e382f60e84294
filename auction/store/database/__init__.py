"""The database itself: the embedded PostgreSQL server, the migrations runner, the login roles and grants."""
