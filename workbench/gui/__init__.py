"""The Qt desktop GUI. Imports PySide6, vtk and pyqtgraph; never imported by the core or the CLI."""
