"""Verification reports for regulators: an analysis -> a report document (build), its forms
(JSON, HTML with inline SVG, PDF through Chromium), Ed25519 signatures, and the checks that
`residency report verify` runs. The schema is docs/report-schema.md; the method, docs/method.md.
"""
