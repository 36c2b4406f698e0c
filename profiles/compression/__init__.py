"""Edge-LLM on the device side (Yu et al., arXiv 2406.15758), done right on a real model: layer-wise unified
compression (sensitivity, LUC policies, quantisation and pruning applied for real), early exits with
voting, adaptive layer tuning, and a hardware cost model for the irregular compute they create."""
