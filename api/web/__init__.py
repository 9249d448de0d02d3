"""The people's pages: sessions, CSRF, templates, the UI text catalog and static files."""
