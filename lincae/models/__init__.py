"""Model adapters: each turns one family of checkpoints into an `Autoencoder`."""
