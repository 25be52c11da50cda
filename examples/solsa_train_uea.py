"""Train SOLSA (Brian2, runtime) on a UEA set and compare with BPTT and the simplified online rule.

    .venv/bin/python examples/solsa_train_uea.py [SET] [EPOCHS]      (default RacketSports, 10)

The same comparison from the command line:  brian-snn solsa --task uea --uea-set RacketSports
"""
import sys

from brian_snn.solsa import ModelParams, TrainConfig
from brian_snn.solsa.memory import learning_bytes
from brian_snn.solsa.trainers import evaluate, train
from brian_snn.solsa.uea import load_uea

name = sys.argv[1] if len(sys.argv) > 1 else "RacketSports"
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
task = load_uea(name)                                   # z-scored channels, NaN padding -> 0
cfg = TrainConfig(epochs=epochs)
hidden = [100, 100]
sizes = [task.n_inputs, *hidden, task.n_outputs]
for method in ("solsa", "bptt", "online-simple"):
    res = train(method, task, hidden, cfg=cfg, engine="brian2")   # SOLSA runs as Brian2 equations
    mem = learning_bytes(method, sizes, task.T)
    acc = evaluate(res.net, ModelParams(), task.x_test, task.y_test, task.kind)   # test once, after training
    print(f"{method:14s} test accuracy {acc:.3f}  learning memory {mem / 1024:.1f} KiB"
          f"  ({res.engine}, {res.train_seconds:.0f} s)")
