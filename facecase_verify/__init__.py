"""Standalone verifier of FaceCase evidence packages: ``python -m facecase_verify PACKAGE.zip``.

Standard library and ``cryptography`` only (no Django, no TensorFlow), so a recipient can run it without FaceCase.
It checks the Ed25519 signature of ``manifest.json``, every listed file's size and SHA-256, that every member is
listed and nothing listed is missing, and, when FaceCase's ``enhancement`` library is importable, replays each
enhancement from the raw crop and its step records and compares the pixels with the enhanced crop in the package.
"""

from facecase_verify.verify import Finding, Verification, verify_package

__all__ = ["Finding", "Verification", "verify_package"]
