"""Drift monitoring: reference profiles of runs, batches counted on their buckets, divergences.

A library package: it reads the spec and the registry and imports neither the API, the CLI nor
the flows.
"""
