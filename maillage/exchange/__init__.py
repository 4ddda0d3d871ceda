"""Data exchange: exports the Caf opens, imports from existing spreadsheets, duplicates, RGPD.

One service layer (``exports``, ``imports``, ``duplicates``, ``rgpd``) shared by the API
(``api``) and the command line (``cli``).
"""
