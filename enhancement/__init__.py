"""FaceCase enhancement library: pure NumPy/OpenCV/TensorFlow code, no Django imports.

Conventions for the whole package (each module restates what it uses):
- images are ``uint8`` BGR arrays shaped (H, W, 3), as ``cv2.imread`` returns them;
- boxes are ``(x, y, w, h)`` integers in pixels of the frame they were found in;
- models load lazily, once (``functools.cache``), never at import time.
"""
