"""SOR for a sequence of shifted Poisson problems, with omega learned across the sequence (an example plugin)."""
