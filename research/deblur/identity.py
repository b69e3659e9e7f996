"""Identity term for training the deblur generator: distance between face embeddings of output and sharp face.

Why: the DeblurGAN-v2 paper's perceptual loss compares VGG-19 features; no ImageNet VGG can be downloaded here.
What we do have is a network trained to tell faces apart: dlib's ResNet face embedder (``enhancement.embed_tf``,
dlib's own weights run in TensorFlow, so it is differentiable). Comparing the embeddings of the generator's output
and of the sharp face asks the generator to restore what identifies the person, which is what FaceCase needs from
deblurring; a pixel loss alone let ``deblur_face_s2`` raise PSNR while moving faces *away* from their identity.

Faces: the 160x160 centre crops of deep-funneled LFW images, each with the affine map from dlib's aligned 150x150
chip into the crop, found once on the sharp image (HOG detector + 5 landmarks, as ``enhancement.embed`` aligns).
The same map warps the sharp face and the generator's output, so both are compared at exactly the same alignment.
Images are ``uint8`` BGR; the network side works on NHWC float tensors in [-1, 1] like the rest of the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from enhancement.datasets import lfw_images, split_identities
from enhancement.embed import CHIP_SIZE, chip_to_image_affine

from .data import _read, lfw_face_crop

CROP = 160  # a multiple of the generator's stride, and the chip (with dlib's 0.25 padding) fits inside it


@dataclass(frozen=True)
class IdentityFace:
    face: np.ndarray  # uint8 BGR, CROP x CROP
    transform: np.ndarray  # float32 (8,): ImageProjectiveTransformV3 map from chip pixels to crop pixels


def _projective(affine: np.ndarray, offset: float) -> np.ndarray:
    """2x3 chip->image affine, shifted into a centre crop whose corner is at (offset, offset), as the 8 numbers
    ``tf.raw_ops.ImageProjectiveTransformV3`` takes."""
    a = affine.astype(np.float64)
    return np.array([a[0, 0], a[0, 1], a[0, 2] - offset, a[1, 0], a[1, 1], a[1, 2] - offset, 0, 0], np.float32)


def identity_faces(split: str, per_identity: int, crop: int = CROP, limit: int | None = None) -> list[IdentityFace]:
    """Sharp crops of ``split``'s LFW identities with their chip maps; images where dlib finds no face are skipped."""
    faces = []
    for identity in split_identities(split):
        for path in lfw_images(identity)[:per_identity]:
            image = _read(path)
            affine = chip_to_image_affine(image)
            if affine is None:
                continue
            offset = (image.shape[0] - crop) // 2
            faces.append(IdentityFace(lfw_face_crop(image, crop), _projective(affine, offset)))
            if limit is not None and len(faces) >= limit:
                return faces
    return faces


def warp_to_chips(images, transforms):
    """NHWC [-1, 1] BGR images -> (N, 150, 150, 3) RGB chips on dlib's 0-255 scale, differentiable in the images."""
    import tensorflow as tf

    rgb = tf.reverse((images + 1.0) * 127.5, axis=[-1])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=rgb, transforms=transforms, output_shape=tf.constant([CHIP_SIZE, CHIP_SIZE], tf.int32),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")


def identity_loss(embed, pred, sharp, transforms):
    """Mean squared Euclidean distance between the embeddings of ``pred`` and ``sharp`` (dlib's distance, squared)."""
    import tensorflow as tf

    target = tf.stop_gradient(embed(warp_to_chips(sharp, transforms)))
    return tf.reduce_mean(tf.reduce_sum(tf.square(embed(warp_to_chips(pred, transforms)) - target), axis=-1))


def numpy_chips(images: np.ndarray, transforms: np.ndarray) -> list[np.ndarray]:
    """The same warp with OpenCV, for uint8 BGR images (validation and tests)."""
    chips = []
    for image, t in zip(images, transforms, strict=True):
        affine = np.array([[t[0], t[1], t[2]], [t[3], t[4], t[5]]], np.float64)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        chips.append(cv2.warpAffine(rgb, affine, (CHIP_SIZE, CHIP_SIZE),
                                    flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT))
    return chips
