"""Dependency audit for CI: pip-audit over the installed environment.

Fails the run when a known vulnerability is found. When the advisory database cannot be
reached (a CI network without Internet: every package comes back « not found » or the
connection fails), says so plainly and does not fail: an audit that could not run is not
an all-clear, and is not a red build either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def main() -> int:
    done = subprocess.run(
        [str(PIP_AUDIT), "--format", "json", "--progress-spinner", "off", "--skip-editable"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["(pas de message)"])[-1]
        print(f"pip-audit : AUDIT NON FAIT, base d'avis injoignable depuis ce réseau ({last}).")
        return 0
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        print(
            f"pip-audit : AUDIT NON FAIT, aucune des {len(dependencies)} dépendances n'a pu être "
            "vérifiée (base d'avis PyPI/OSV injoignable depuis ce réseau). Lancez "
            "« pip-audit » depuis un poste relié à Internet."
        )
        return 0
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "aucune"
            print(
                f"{dependency['name']} {dependency['version']} : {vuln['id']} (corrigé en {fixes})"
            )
    skipped = len(dependencies) - len(audited)
    print(
        f"pip-audit : {len(audited)} dépendances vérifiées, {skipped} non vérifiables, "
        f"{len(vulnerable)} vulnérable(s)."
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
