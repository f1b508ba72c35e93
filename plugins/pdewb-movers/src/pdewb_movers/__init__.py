"""Mesh movers for PDE Workbench: r-adaptation by the Monge-Ampere equation (optimal transport)."""
