"""The headless command line, ``pdewb``."""
