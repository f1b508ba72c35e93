"""P1 finite elements on simplicial meshes: Poisson and the heat equation."""
