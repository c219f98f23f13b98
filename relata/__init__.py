"""Relata: related-content recommendations for news and magazine sites.

The data flows one way, and the subpackages follow it:
archive → `relata.training` (features, neighbours, calibration, evaluation) →
`relata.artifact` (the versioned model folder) → `relata.service` (the HTTP API,
editors' overrides, the store). `relata.cli` is the `relata` command over all three.
"""
