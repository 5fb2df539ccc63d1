"""Data: dataset names → uint8 tensors cached on disk → augmented batches on the training device."""
