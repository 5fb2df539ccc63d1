"""GoogLeNet / Inception v1 (Szegedy et al. 2015)."""
