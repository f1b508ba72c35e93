"""Pseudo-spectral solvers on periodic boxes for PDE Workbench (torch, batched).

Importing this package is light; torch is imported by :mod:`pdewb_spectral.burgers`
and :mod:`pdewb_spectral.navier_stokes` only.
"""
