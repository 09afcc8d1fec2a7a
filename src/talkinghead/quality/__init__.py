"""The quality report behind ``talkinghead eval``: measure a talking video, with pictures.

Heavy dependencies (dlib, pocketsphinx) are imported only when used; see docs/EVAL.md.
"""
