"""Sample meshes and scenarios shipped with PDE Workbench."""
