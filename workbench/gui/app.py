"""``pde-workbench [MESH]``: start the desktop workbench.

Start-up stays light: plugins are discovered from their descriptors (no solver,
no torch is imported) and the compare view is built on first use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":  # no display: VTK must render off-screen too
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
    from PySide6 import QtCore, QtWidgets

    from ..plugins.host import load_plugins
    from .garbage import collect_on_gui_thread
    from .main_window import MainWindow
    from .plugins_dialog import disabled_plugins

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(argv)
    app.setApplicationName("PDE Workbench")
    app.setOrganizationName("PDE Workbench")
    collect_on_gui_thread(app)  # Qt objects must never be destroyed by a collection on a compute thread
    settings = QtCore.QSettings("PDE Workbench", "pde-workbench")
    window = MainWindow(load_plugins(disabled=disabled_plugins(settings)), settings)
    window.show()
    if len(argv) > 1:
        window.open_mesh(argv[1])
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
