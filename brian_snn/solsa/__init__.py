"""SOLSA: online learning of weights and synaptic filters (Zhang, Jin, Fang, Qiu, ASP-DAC 2024), as
Brian2 equations, with an exact BPTT baseline, a simplified online rule, tasks and memory accounting.

Importing this package pulls in numpy only; Brian2 is imported when a Brian2 network is built.
Main entry points::

    from brian_snn.solsa import ModelParams, TrainConfig, Network, bptt, online_gradients
    from brian_snn.solsa.brian_net import BrianSolsa          # the Brian2 network
    from brian_snn.solsa.trainers import train                # solsa / bptt / online-simple
    from brian_snn.solsa.tasks import make_patterns, make_sines, make_mnist_rows
    from brian_snn.solsa.uea import load_uea
    from brian_snn.solsa.memory import learning_bytes, measure_peak, memory_report
    from brian_snn.solsa.runner import Experiment, run_experiment, format_table
"""
from .config import ModelParams, TrainConfig
from .errors import SolsaError
from .reference import Gradients, Network, OnlineLearner, bptt, forward, online_gradients

__all__ = ["ModelParams", "TrainConfig", "SolsaError", "Network", "Gradients", "OnlineLearner", "bptt",
           "forward", "online_gradients"]
