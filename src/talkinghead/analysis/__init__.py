"""Portrait analysis: where the face, its features and the person are."""
