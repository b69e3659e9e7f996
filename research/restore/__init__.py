"""Experiment, not used by the product: one learned step for tiny, dark, noisy, compressed CCTV faces (x4).

Why it was tried: the evaluation's ``combined`` probe (motion blur, x1/4, low light with shot noise, JPEG 30)
defeats the chain of single-purpose steps: LIME brightens the noise and SRCNN magnifies it
(``docs/evaluation/combined_ablation.md``). This network was to learn the whole inverse at once, from the capture
resolution to x4, trained with the face-identity term (``research.deblur.identity``: dlib's embedder in
TensorFlow) next to an L1 pixel loss, so that it would restore what identifies the person.

What was measured (``docs/evaluation/notes.md``, "A restoration network trained on the chain"): it recovers nothing.
On the validation faces the identity distance stayed at the bicubic input's (best 0.662 at step 1,250 against 0.666;
stopped at step 1,600 of 5,000, flat since step 250), and on 300 ``pairsDevTest`` pairs its TAR at FAR = 1 % equals
the raw probe's on ``combined`` (14.0 and 14.0) and on ``x4`` (97.3 and 97.3). JPEG 30 applied to the darkened 63 px
image leaves the face as 3-4 blocks of mostly DC coefficients, and no network can put back what is not in the input.
No weights ship and the pipeline has no such step. The trainer is kept so that the result can be reproduced, or
the idea retried on a milder chain: ``python -m research.train_restore --config
research/restore/configs/restore_face_x4.json``.
"""
