import numpy as np

from brian_snn.readout import assign_labels, confusion_matrix, predict


def test_assignment_and_prediction_on_a_hand_built_case():
    # 3 neurons, 2 classes.  Neuron 0 fires for class 0, neuron 1 for class 1, neuron 2 never.
    responses = np.array([[4, 0, 0], [6, 1, 0], [0, 3, 0], [1, 5, 0]])
    labels = np.array([0, 0, 1, 1])
    assignments, means = assign_labels(responses, labels, n_classes=2)
    assert means.tolist() == [[5.0, 0.5, 0.0], [0.5, 4.0, 0.0]]
    assert assignments.tolist() == [0, 1, -1]
    pred = predict(np.array([[3, 1, 9], [0, 2, 9], [1, 1, 9]]), assignments, n_classes=2)
    assert pred.tolist() == [0, 1, 0]          # tie -> lowest class; silent neuron ignored
    assert confusion_matrix([0, 1, 1], pred, 2).tolist() == [[1, 0], [1, 1]]


def test_class_mean_not_sum_decides():
    # class 0 has two weakly responding neurons, class 1 one strong one: the mean wins
    assignments = np.array([0, 0, 1])
    assert predict(np.array([[2, 2, 3]]), assignments, n_classes=2).tolist() == [1]
