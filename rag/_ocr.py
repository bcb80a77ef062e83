"""Scanned PDF pages read by Tesseract OCR: a page without a usable text layer is rendered with
pypdfium2 and given to Debian's ``tesseract`` command, one page at a time under a time budget.

The command, not a Python binding: a page that takes too long is a process to kill, and nothing
but the page's pixels crosses over.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from rag.errors import ExtractionError

DPI = 300  # Tesseract reads best at 300 dpi; a 200 dpi scan rendered at 300 loses nothing
MAX_PIXELS = 40_000_000  # an A4 page at 300 dpi is 8.7 million; a hostile page size is capped
INSTALL_HINT = "install Tesseract: apt-get install tesseract-ocr tesseract-ocr-eng"


@functools.cache
def tesseract() -> str | None:
    """The ``tesseract`` command's path, or None when it is not installed (looked up once)."""
    return shutil.which("tesseract")


@functools.cache
def languages() -> frozenset[str]:
    """The OCR languages installed (e.g. {"eng", "fra"}); empty without Tesseract. Asked once per
    process (a worker reading many scanned PDFs), not once per file."""
    command = tesseract()
    if command is None:
        return frozenset()
    result = subprocess.run(
        [command, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
    )
    return frozenset(line.strip() for line in result.stdout.splitlines()[1:] if line.strip())


def check_languages(lang: str) -> None:
    """Raises ExtractionError unless Tesseract and every language of ``lang`` ("eng+fra") are
    installed."""
    if tesseract() is None:
        raise ExtractionError(f"Tesseract is not installed ({INSTALL_HINT})")
    missing = sorted(set(lang.split("+")) - languages())
    if missing:
        names = " ".join(f"tesseract-ocr-{m}" for m in missing)
        raise ExtractionError(
            f"OCR language {'+'.join(missing)} is not installed (apt-get install {names})"
        )


class PageReader:
    """Renders and reads the pages of one PDF that need OCR."""

    def __init__(self, data: bytes, lang: str, timeout_s: float):
        import pypdfium2

        self.pdf = pypdfium2.PdfDocument(data)
        self.lang = lang
        self.timeout_s = timeout_s

    def has_images(self, number: int) -> bool:
        """Whether page ``number`` (0-based) shows any image: only those can hold scanned text."""
        import pypdfium2.raw as pdfium_c

        page = self.pdf[number]
        images = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3)
        return any(True for _ in images)

    def read(self, number: int) -> str:
        """The text Tesseract reads on page ``number`` (0-based).

        Raises:
            ExtractionError: Tesseract failed or took over ``timeout_s`` on this page.
        """
        page = self.pdf[number]
        width, height = page.get_size()
        scale = min(DPI / 72, (MAX_PIXELS / max(width * height, 1.0)) ** 0.5)
        pixels = page.render(scale=scale, grayscale=True).to_numpy()
        if pixels.ndim == 3:
            pixels = pixels[:, :, 0]
        image = b"P5\n%d %d\n255\n" % (pixels.shape[1], pixels.shape[0]) + pixels.tobytes()
        environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # the other core reads another file
        try:
            result = subprocess.run(
                [tesseract() or "tesseract", "stdin", "stdout", "-l", self.lang, "--psm", "3"],
                input=image,
                capture_output=True,
                timeout=self.timeout_s,
                env=environment,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ExtractionError(
                f"OCR of page {number + 1} took over {self.timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise ExtractionError(f"cannot run Tesseract: {exc}") from exc
        if result.returncode != 0:
            error = result.stderr.decode(errors="replace").strip().splitlines()
            raise ExtractionError(
                f"Tesseract failed on page {number + 1}: {error[-1] if error else 'no message'}"
            )
        return result.stdout.decode("utf-8", errors="replace").replace("\f", "").strip()

    def close(self) -> None:
        self.pdf.close()
