"""Reports for the Caf: the annual activity report (bilan annuel) and the territorial diagnostic.

Data is read once per report with a bounded number of queries (``collect``); each section is then
computed by pure functions over those rows, and rendered as DOCX, XLSX and HTML from one model.
"""
