"""GUI tests run on a real X server: scripts/test starts Xvfb (xvfb-run) when there is no display.

Qt then uses its xcb platform and VTK a GLX window (Mesa's software renderer),
the same path as on a desktop. Qt's offscreen platform with VTK's OSMesa window
was tried first and crashed intermittently (3 to 5 runs in 6) once a second
QVTKRenderWindowInteractor was created in the process.
"""

import numpy as np
import pytest


def lit_pixels(image: np.ndarray, background_max: int = 90) -> int:
    """Pixels brighter than the dark viewport background (max channel above ``background_max``)."""
    return int((image.max(axis=2) > background_max).sum())


def coloured_pixels(image: np.ndarray, saturation: int = 40) -> int:
    """Pixels with a clear hue (not grey): max channel - min channel above ``saturation``."""
    channels = image.astype(np.int16)
    return int((channels.max(axis=2) - channels.min(axis=2) > saturation).sum())


@pytest.fixture
def pixels():
    """Pixel-counting helpers for rendered images."""
    return type("Pixels", (), {"lit": staticmethod(lit_pixels), "coloured": staticmethod(coloured_pixels)})
