"""Network in Network (Lin et al. 2014)."""
