"""Partner registry: tables, rules and services shared by the API, the pages and the CLI."""
