"""DMM, the data-free neural mesh mover (Hu et al., "Better Neural PDE Solvers Through
Data-Free Mesh Movers", ICLR 2024), on the unit square.

A network phi(xi; u) maps computational coordinates xi to x = xi + grad phi. It is
trained without any optimal mesh by minimising the Monge-Ampere residual

    m(xi + grad phi) det(I + H(phi)) / theta - 1,   theta = int_Omega m(x) dx / |Omega|,

plus a Neumann term and a convexity penalty, at importance-sampled collocation points.

One concept per module:

* :mod:`.fronts`       seeded training and held-out fields (rings and multi-Gaussian fronts);
* :mod:`.grid_monitor` the monitor of a field on a tensor grid, differentiable in x (torch);
* :mod:`.network`      the branch-trunk network and the map x = xi + grad phi;
* :mod:`.loss`         the data-free loss;
* :mod:`.sampling`     importance sampling of collocation points by the monitor density;
* :mod:`.training`     the training job (seeded, Scalars per epoch, cancel keeps the best);
* :mod:`.checkpoint`   safetensors checkpoints with a JSON header, and their refusals;
* :mod:`.inference`    batched moving of many fields (a trajectory) in one forward pass;
* :mod:`.mover`        ``move(mesh, monitor, params) -> Job``, the MeshMoverContribution contract.

Nothing here is imported when the workbench lists its plugins (plugin.py stays light).
"""
