"""`python -m lincae.train`: the Lin-CAE linearity recipe (and its baseline) for the embedded autoencoder."""
