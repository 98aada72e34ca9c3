"""Synthetic data at any size that obeys a spec's contract: ``churn synth``."""

from __future__ import annotations

from churn.synth.generate import SynthSummary, synthesize

__all__ = ["SynthSummary", "synthesize"]
