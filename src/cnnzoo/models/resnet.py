"""ResNets (He et al. 2016) and their residual-unit variants (He et al. 2016, Identity Mappings)."""
