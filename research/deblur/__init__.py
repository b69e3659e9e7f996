"""Training side of the deblur step: data pipeline, losses and the face-identity term (``research.train_deblur``)."""
