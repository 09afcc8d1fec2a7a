"""Named indices into mediapipe's 478-point face mesh (refined lips and irises).

Left and right are as seen in the image.
"""

from __future__ import annotations

import numpy as np

FOREHEAD = 10
CHIN = 152
NOSE_TIP = 1

# Inner lip contours from corner to corner, left to right in the image.
INNER_UPPER_LIP = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308])
INNER_LOWER_LIP = np.array([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])
OUTER_UPPER_LIP = np.array([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291])
OUTER_LOWER_LIP = np.array([61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291])
MOUTH_CORNERS = np.array([61, 291, 78, 308, 62, 292, 76, 306])
LIP_POINTS = np.array(sorted({
    0, 11, 12, 13, 14, 15, 16, 17, 37, 38, 39, 40, 41, 42, 61, 62, 72, 73, 74, 76, 77, 78,
    80, 81, 82, 84, 85, 86, 87, 88, 89, 90, 91, 95, 96, 146, 178, 179, 180, 181, 183, 184,
    185, 191, 267, 268, 269, 270, 271, 272, 291, 292, 302, 303, 304, 306, 307, 308, 310,
    311, 312, 314, 315, 316, 317, 318, 319, 320, 321, 324, 325, 375, 402, 403, 404, 405,
    407, 408, 409, 415,
}))

# Eyes: upper lid, lower lid (corner to corner), lid crease above, iris (centre + ring).
LEFT_EYE_UPPER = np.array([33, 246, 161, 160, 159, 158, 157, 173, 133])
LEFT_EYE_LOWER = np.array([33, 7, 163, 144, 145, 153, 154, 155, 133])
LEFT_EYE_CREASE = np.array([226, 247, 30, 29, 27, 28, 56, 190, 243])
LEFT_IRIS = np.array([468, 469, 470, 471, 472])
RIGHT_EYE_UPPER = np.array([263, 466, 388, 387, 386, 385, 384, 398, 362])
RIGHT_EYE_LOWER = np.array([263, 249, 390, 373, 374, 380, 381, 382, 362])
RIGHT_EYE_CREASE = np.array([446, 467, 260, 259, 257, 258, 286, 414, 463])
RIGHT_IRIS = np.array([473, 474, 475, 476, 477])

FACE_OVAL = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
])

# Brows, inner end last.
LEFT_BROW = np.array([70, 63, 105, 66, 107, 46, 53, 52, 65, 55])
RIGHT_BROW = np.array([300, 293, 334, 296, 336, 276, 283, 282, 295, 285])
