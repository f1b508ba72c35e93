"""Running solvers: the Qt-free runner here; the GUI wraps it in a worker thread."""
