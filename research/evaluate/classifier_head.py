"""A small Keras softmax head on enrolment embeddings, compared with nearest-neighbour matching in the
evaluation's identification section (``classifier_head`` rows). The product does not use it: matching is the
open-set nearest-neighbour search of ``enhancement.match``.

The dlib ResNet is the frozen feature extractor; the head trains from scratch in seconds. Open set: a softmax always
picks some class, so ``predict`` answers "unknown" unless the head is confident (``min_probability``) *and* the
probe's nearest enrolled embedding of that class is within the calibrated distance threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from enhancement.match import DEFAULT_THRESHOLD, Gallery


@dataclass
class ClassifierHead:
    """Dense ``hidden`` + dropout + softmax over the enrolled identities; see the module docstring."""

    hidden: int = 64
    epochs: int = 60
    seed: int = 0
    min_probability: float = 0.5
    threshold: float = DEFAULT_THRESHOLD
    classes: list[str] = field(default_factory=list)
    model: Any = None
    gallery: Gallery | None = None

    def _build(self, n_classes: int) -> Any:
        import keras

        keras.utils.set_random_seed(self.seed)
        model = keras.Sequential([keras.Input((128,)), keras.layers.Dense(self.hidden, activation="relu"),
                                  keras.layers.Dropout(0.2), keras.layers.Dense(n_classes, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        return model

    def fit(self, vectors: np.ndarray, labels: Sequence[str]) -> ClassifierHead:
        _limit_tf_threads()
        x = np.asarray(vectors, np.float32).reshape(-1, 128)
        self.classes = sorted(set(labels))
        if len(self.classes) < 2:
            raise ValueError("the classifier head needs at least two identities")
        y = np.array([self.classes.index(label) for label in labels])
        self.model = self._build(len(self.classes))
        self.model.fit(x, y, epochs=self.epochs, batch_size=min(64, len(x)), verbose=0, shuffle=True)
        self.gallery = Gallery(x, list(labels))
        return self

    def predict(self, vector: np.ndarray) -> tuple[str | None, float]:
        """``(label, probability)``; label is None ("unknown") unless both the head and the distance agree."""
        if self.model is None or self.gallery is None:
            raise RuntimeError("ClassifierHead.predict called before fit")
        v = np.asarray(vector, np.float32).reshape(1, 128)
        probs = np.asarray(self.model(v, training=False))[0]
        best = int(np.argmax(probs))
        label, prob = self.classes[best], float(probs[best])
        rows = self.gallery.labels == label
        nearest = float(self.gallery.distances(v[0])[rows].min())
        if prob < self.min_probability or nearest >= self.threshold:
            return None, prob
        return label, prob


def _limit_tf_threads() -> None:
    """Two shared cores: keep TensorFlow from spawning a thread pool per core (only possible before first use)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised by an earlier model; the setting is process-wide anyway
        pass
