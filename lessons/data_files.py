from pathlib import Path


class DataFileError(ValueError):
    """A content file (a lesson, a quiz, an interview script) that cannot be loaded.

    The message starts with the file's name, so whoever edits it knows where to look.
    """

    def __init__(self, path: Path, message: str):
        super().__init__(f"{path.name}: {message}")
        self.path = path
