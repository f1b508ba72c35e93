"""Neural-operator surrogates: FNO, MgNO and DeepONet, their training and their safe checkpoints."""
