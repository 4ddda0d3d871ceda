"""Partner network analysis (network issue): NetworkX graphs built from CRM rows, metrics,
under-connected partners with French reasons, suggestions, pyvis drawing, GEXF/GraphML export.
Pure functions: rows in, graphs and figures out, no database access."""
