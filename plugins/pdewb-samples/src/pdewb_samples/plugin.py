"""Hook implementations of the sample-data plugin."""

from workbench.plugins import SampleDataContribution, hookimpl

PLATE_WITH_HOLE = SampleDataContribution(
    id="plate-with-hole",
    title="Plate with a hole (gmsh, triangles)",
    implementation="pdewb_samples.files:plate_with_hole",
    summary="Rectangle [0, 2] x [0, 1] with a hole of radius 0.25 at (0.5, 0.5); boundaries 'hole', 'left', 'right' and 'outer' (top and bottom).",
)

L_SHAPE = SampleDataContribution(
    id="l-shape",
    title="L-shaped domain (gmsh, triangles)",
    implementation="pdewb_samples.files:l_shape",
    summary="[-1, 1]^2 minus [0, 1] x [-1, 0], refined at the re-entrant corner; boundaries 'outer' and 'reentrant'.",
)


@hookimpl
def pdewb_sample_data():
    return [PLATE_WITH_HOLE, L_SHAPE]
