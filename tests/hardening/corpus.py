"""One shared list of hostile values, pushed through every field into every output.

Each value is something a partner, a careless copy-paste or an attacker could type into a
form or an imported spreadsheet. Outputs must stay well-formed and inert whatever comes in;
inputs that cannot be stored faithfully on both engines are refused with a 400.
"""

from __future__ import annotations

HOSTILE: dict[str, str] = {
    "script": "<script>alert('maillage')</script>",
    "attribut": '"><img src=x onerror=alert(1)>',
    "fin-de-script": "</script><script>alert(2)</script>",
    "lien-javascript": "javascript:alert(document.cookie)",
    "crlf-en-tete": "Réunion\r\nBcc: espion@pirate.example\r\nX-Injecte: oui",
    "ical-propriete": "COPIL\r\nATTENDEE:mailto:espion@pirate.example\r\nEND:VEVENT\r\nBEGIN:VEVENT",
    "ical-echappements": "a;b,c\\nd:e",
    "formule": "=cmd|' /C calc'!A0",
    "formule-plus": "+SUM(1+1)*cmd|' /C calc'!A0",
    "formule-arobase": "@SUM(1+1)",
    "formule-tab": "\t=1+1",
    "sql": "Robert'); DROP TABLE contact;-- \" OR 1=1 --",
    "sql-like": "100% _tout_ \\ %",
    "nul": "avant\x00après",
    "controle": "cloche\x07 echap\x1b[31m rouge \x7f",
    "rtl": "facture\u202egpj.exe",
    "bidi-isolats": "\u2067abc\u2069 \u200f\u200e",
    "emoji": "Crèche 🧸👨‍👩‍👧‍👦 🏳️‍🌈",
    "accents": "Œuvre de l’Enfance — « Élan » ÿ",
    "tres-long": "x" * 100_000,
    "long-accepte": "Ligne de compte rendu. " * 800,  # 18,400 characters: fits a long text
    "xml": "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>&e;",
    "gabarit": "{{ 7*7 }} {% raw %} ${7*7} #{7*7}",
}

# Refused everywhere: what PostgreSQL cannot store (NUL), what no one types (control
# characters), and what exceeds every field.
ALWAYS_REFUSED = {"nul", "controle", "tres-long"}
