"""AlexNet (Krizhevsky et al. 2012), in torchvision's single-tower layout."""
