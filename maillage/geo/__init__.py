"""Outlines of places, read from WKB and drawn as SVG by the server (#18): no tile server, no
script, nothing fetched from another host. Pure functions, apart from ``maps`` which reads the
communes of a territory."""
