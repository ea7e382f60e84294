"""The operator console: server-rendered pages (Jinja2), cookie sessions, the audit."""
