"""The Litestar application: API controllers, pages, templates, static files, authentication."""
