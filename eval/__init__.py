"""Eval sets, scorer and benchmarks."""
