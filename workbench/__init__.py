"""PDE Workbench: run, compare and extend PDE simulations.

The package is split so that the numerical core never depends on a GUI:

- ``workbench.core``: meshes, fields, parameters, problems, runs, metrics and the
  job protocol (numpy/scipy/meshio only; never PySide6, vtk or torch).
- ``workbench.plugins``: the pluggy hook specifications and the plugin host.
- ``workbench.io``: writing results (VTU/PVD) and reading scenario files.
- ``workbench.cli``: the headless ``pdewb`` command.
"""

__version__ = "0.1.0"
