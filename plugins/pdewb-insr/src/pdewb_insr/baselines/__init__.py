"""Grid solvers of the same problems, the classical references INSR is compared against."""
