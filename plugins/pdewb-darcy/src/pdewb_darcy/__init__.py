"""Darcy flow on the unit square: random coefficients, finite differences, batched solves."""
