"""Experiments built on the models: training/evaluation, continual learning, timestep, search."""
