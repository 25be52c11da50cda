"""Diehl & Cook readout: label neurons by their highest mean response, predict by class mean."""
import numpy as np


def assign_labels(responses, labels, n_classes=10):
    """Each neuron gets the class with its highest mean spike count over samples of that class.

    ``responses``: [n_samples, n_neurons] spike counts; ``labels``: [n_samples].
    Neurons that never fired get label -1 (they take part in no prediction).
    Returns (assignments [n_neurons], class_means [n_classes, n_neurons]).
    """
    responses = np.asarray(responses, dtype=float)
    labels = np.asarray(labels)
    means = np.zeros((n_classes, responses.shape[1]))
    for c in range(n_classes):
        rows = labels == c
        if rows.any():
            means[c] = responses[rows].mean(axis=0)
    assignments = means.argmax(axis=0)
    assignments[means.max(axis=0) <= 0] = -1
    return assignments, means


def predict(responses, assignments, n_classes=10):
    """Per sample: mean response of the neurons assigned to each class; argmax (ties -> lowest).

    Classes without assigned neurons score 0."""
    responses = np.asarray(responses, dtype=float)
    scores = np.zeros((responses.shape[0], n_classes))
    for c in range(n_classes):
        cols = assignments == c
        if cols.any():
            scores[:, c] = responses[:, cols].mean(axis=1)
    return scores.argmax(axis=1)


def confusion_matrix(true, pred, n_classes=10):
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(true, dtype=int), np.asarray(pred, dtype=int)), 1)
    return m
