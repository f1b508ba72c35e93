"""INSR: implicit neural spatial representations for time-dependent PDEs (Chen et al., ICML 2023).

The spatial field is a SIREN network; each time step fits new weights by minimising a
time-discrete residual, warm-started from the previous step's weights. See docs/insr.md.
"""
