"""Losses for the deblur GAN, on NHWC float tensors in [-1, 1].

Content: pixel (MSE as in the paper, or L1) + (1 - SSIM). The DeblurGAN-v2 paper adds a VGG-19 perceptual
loss; VGG ImageNet weights cannot be downloaded here (and training a VGG from scratch is out of scope). Two terms
stand in for it: SSIM as the structural term (it rewards restored local contrast and edges and needs no pretrained
network), and, from ``deblur_face_s3i`` on, an identity term: the distance between dlib face-embedder descriptors
of the output and of the sharp face (``research/deblur/identity.py``), a perceptual loss from the one pretrained
network we do have, and the one that measures what FaceCase needs. Adversarial: the paper's relativistic
least-squares GAN (RaLSGAN), on two scales (patch and whole image).
"""

from __future__ import annotations

import tensorflow as tf


def l1(pred, target):
    return tf.reduce_mean(tf.abs(pred - target))


def mse(pred, target):
    return tf.reduce_mean(tf.square(pred - target))


def ssim_loss(pred, target):
    # tf.image.ssim wants [0, max_val]; an 7x7 window suits 64-128 px patches better than the default 11.
    score = tf.image.ssim((pred + 1.0) / 2.0, (target + 1.0) / 2.0, max_val=1.0, filter_size=7)
    return 1.0 - tf.reduce_mean(score)


def ralsgan_d_loss(real_scores, fake_scores):
    """Discriminator: real should score 1 above the average fake, fake 1 below the average real."""
    real_mean = tf.reduce_mean(real_scores)
    fake_mean = tf.reduce_mean(fake_scores)
    return (tf.reduce_mean(tf.square(real_scores - fake_mean - 1.0))
            + tf.reduce_mean(tf.square(fake_scores - real_mean + 1.0))) / 2.0


def ralsgan_g_loss(real_scores, fake_scores):
    """Generator: the symmetric objective (fakes pushed above the average real)."""
    real_mean = tf.reduce_mean(real_scores)
    fake_mean = tf.reduce_mean(fake_scores)
    return (tf.reduce_mean(tf.square(real_scores - fake_mean + 1.0))
            + tf.reduce_mean(tf.square(fake_scores - real_mean - 1.0))) / 2.0


def psnr(pred, target):
    """Mean PSNR in dB of [-1, 1] tensors (evaluated on the 8-bit scale by the benchmark, not here)."""
    return tf.reduce_mean(tf.image.psnr((pred + 1.0) / 2.0, (target + 1.0) / 2.0, max_val=1.0))
