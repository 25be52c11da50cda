"""NIR (Neuromorphic Intermediate Representation) graphs in and out of brian-snn.

* :func:`from_nir` / :func:`run_nir`: a NIR graph (``.nir`` file or ``nir.NIRGraph``) as a Brian2
  network integrated exactly at a chosen ``dt``, run on given inputs, with exact hwmodel counts;
* :func:`solsa_to_nir`: a trained SOLSA network as a NIR graph (Input -> Linear -> CubaLIF ...);
* :func:`inference_to_nir`: a trained Diehl & Cook / SpikeDyn network (learned weights and thresholds;
  conductances approximated by currents) as Input -> Linear -> CubaLIF with a lateral-inhibition loop.

See docs/nir.md for the supported nodes, the discretisation and the measured discrepancies.
"""
from .graph import load_graph, plan
from .nodes import SUPPORTED, NirError
from .network import NirNetwork, NirResult, from_nir, run_nir
from .solsa import agreement, load_solsa, solsa_to_nir, write_nir
from .snn_export import inference_to_nir, load_snn, snn_to_nir

__all__ = ["NirError", "SUPPORTED", "load_graph", "plan", "NirNetwork", "NirResult", "from_nir", "run_nir",
           "agreement", "load_solsa", "solsa_to_nir", "write_nir", "inference_to_nir", "load_snn", "snn_to_nir"]
