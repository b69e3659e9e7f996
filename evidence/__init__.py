"""Court-ready evidence export: one signed zip per case or alert that anyone can check with ``facecase_verify``.

- ``signing``: the installation's Ed25519 key (generated once into ``var/``, or given by setting), never exported;
- ``package``: the zip writer (streams every file in chunks, hashes it, lists it in ``manifest.json``, signs);
- ``build``: what goes in (originals re-verified against their upload SHA-256, frames, crops, step records, match,
  review decisions, audit trail) and the audited services ``evidence_export_case`` / ``evidence_export_alert``;
- ``report``: ``report.html`` and ``report.pdf`` (WeasyPrint).
The package format is described in ``docs/evidence_export.md``.
"""
