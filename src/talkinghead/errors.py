"""The one error tree of talkinghead.

Every failure a user can act on is a ``TalkingHeadError``; the CLI and the
HTTP service map these, and only these, to exit codes and status codes::

    TalkingHeadError                 (code, http_status)
    ├── InputError                   bad input: the caller can fix it (400)
    │   ├── ImageError               not an image, corrupt, bomb
    │   │   └── UnsupportedImageFormatError   (415)
    │   ├── AudioError               not audio, corrupt, undecodable
    │   │   ├── EmptyAudioError      zero length or no samples
    │   │   └── AudioTooLongError    longer than the configured limit (413)
    │   ├── FileTooLargeError        bytes over a size limit (413)
    │   ├── NoFaceError              no face found in the portrait (422)
    │   └── OptionsError             an option out of range
    └── RenderError                  our fault: a bug or a broken install (500)

Messages name the file or field, the problem, and what is supported.
"""

from __future__ import annotations


class TalkingHeadError(Exception):
    """Base of every error talkinghead raises on purpose."""

    code: str = "error"
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(TalkingHeadError):
    """The input cannot be used; the caller can fix it."""

    code = "invalid_input"
    http_status = 400


class ImageError(InputError):
    """The portrait is not a usable image."""

    code = "invalid_image"


class UnsupportedImageFormatError(ImageError):
    """The portrait decodes but is not PNG, JPEG or WebP."""

    code = "unsupported_image_format"
    http_status = 415


class AudioError(InputError):
    """The audio cannot be decoded."""

    code = "invalid_audio"


class EmptyAudioError(AudioError):
    """The audio holds no samples."""

    code = "empty_audio"


class AudioTooLongError(AudioError):
    """The audio is longer than the configured limit."""

    code = "audio_too_long"
    http_status = 413


class FileTooLargeError(InputError):
    """An input is larger than its byte limit."""

    code = "file_too_large"
    http_status = 413


class NoFaceError(InputError):
    """No face could be found in the portrait."""

    code = "no_face"
    http_status = 422


class OptionsError(InputError):
    """An option is out of range or of the wrong kind."""

    code = "invalid_option"


class RenderError(TalkingHeadError):
    """Rendering or encoding failed for a reason that is not the input's."""

    code = "render_failed"
    http_status = 500
