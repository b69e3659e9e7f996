"""The evaluation's Keras classifier head (research code: the product matches by nearest neighbour) on real LFW
embeddings (``lfw_people`` is in conftest.py)."""

import numpy as np
import pytest

from enhancement.datasets import has_shared_data
from enhancement.match import Gallery, match
from research.evaluate.classifier_head import ClassifierHead

needs_data = pytest.mark.skipif(not has_shared_data(), reason="../shared/data is absent")


@needs_data
def test_it_trains_a_classifier_head_that_defers_to_the_distance_gate(lfw_people):
    vectors, enrolled, strangers, _ = lfw_people
    head = ClassifierHead(epochs=40).fit(np.array([v for p in enrolled for v in vectors[p][:3]]),
                                         [p for p in enrolled for _ in range(3)])
    predictions = [head.predict(vectors[p][3])[0] for p in enrolled]
    assert sum(label == p for label, p in zip(predictions, enrolled, strict=True)) >= 5
    for stranger in strangers:  # the head never accepts a face the distance gate calls unknown
        if match(vectors[stranger][0], Gallery(head.gallery.vectors, list(head.gallery.labels))).unknown:
            assert head.predict(vectors[stranger][0])[0] is None
