"""VGG (Simonyan & Zisserman 2015), configurations A, B, D, E."""
