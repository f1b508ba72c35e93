"""Reading and writing files: meshes through plugins, result series, scenarios."""
