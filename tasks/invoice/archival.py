"""What makes an invoice PDF archival (PDF/A-3, the base of a Factur-X invoice): every font embedded,
and the colour space the page is drawn in named by an output intent (sRGB).

Embedding DejaVu Sans whole costs about 100 ms a document (fpdf2 reads the 6,000-glyph font and
subsets it each time). Nearly every invoice is written in the Latin letters of Western and Central
Europe, so those glyphs (Windows-1252, Latin Extended-A, the spaces numbers are grouped with) are
cut from DejaVu Sans once per machine into a small font (`core_fonts`, 33 KB each, in the temporary
folder), which costs about a third of that; a document with any other letter is set in the whole of
DejaVu Sans. The fonts are Debian's `fonts-dejavu-core` (in the image); a machine without them
gets Helvetica, not embedded, so not PDF/A. The XMP metadata saying PDF/A-3 (part 3, conformance
B) and the XML attachment are added by the `factur-x` library (`einvoice.embed`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_SOURCES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
# the letters of the core font: Windows-1252, Latin Extended-A (č, ł, ő, ş ...), and the narrow
# no-break and thin spaces French and Swiss numbers are grouped with
CORE = frozenset(
    bytes(range(0x20, 0x7F)).decode("cp1252")
    + bytes(range(0xA0, 0x100)).decode("cp1252")
    + "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
    + "".join(chr(c) for c in range(0x100, 0x180))
    + "\u202f\u2009\u2011\u2212"
)


def family_for(texts: list[str]) -> tuple[str, dict[str, Path]]:
    """The font family a document is set in, and its files by style: the core font when every
    character of `texts` is in it, else the whole of DejaVu Sans."""
    if not all((DEJAVU / name).is_file() for name in _SOURCES.values()):
        return "Helvetica", {}  # no fonts to embed (Debian's fonts-dejavu-core): not archival
    used = set("".join(texts))
    if used <= CORE:
        return "DejaVuCore", core_fonts()
    return "DejaVu", {style: DEJAVU / name for style, name in _SOURCES.items()}


@cache
def core_fonts() -> dict[str, Path]:
    """The core fonts by style, cut from DejaVu Sans on first use and kept in the temporary folder
    under a name that changes with the source font and the letters (written whole, then renamed,
    so processes rendering at once never read half a file)."""
    folder = Path(tempfile.gettempdir()) / "o2c-fonts"
    folder.mkdir(exist_ok=True)
    fonts = {}
    for style, name in _SOURCES.items():
        source = DEJAVU / name
        stamp = hashlib.sha256(
            f"{source.stat().st_size}:{source.stat().st_mtime_ns}:{''.join(sorted(CORE))}".encode()
        ).hexdigest()[:12]
        target = folder / f"{source.stem}-core-{stamp}.ttf"
        if not target.is_file():
            _cut(source, target)
        fonts[style] = target
    return fonts


def _cut(source: Path, target: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    font = TTFont(source)
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=[ord(c) for c in CORE])
    cutter.subset(font)
    partial = target.with_suffix(f".{os.getpid()}.part")
    font.save(partial)
    partial.replace(target)


@cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile (LittleCMS's, through Pillow)."""
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def add_output_intent(pdf: Any) -> None:
    """Name sRGB as the colour space of the document's device colours (a PDF/A output intent)."""
    from fpdf.enums import OutputIntentSubType
    from fpdf.output import PDFICCProfile

    pdf.add_output_intent(
        OutputIntentSubType.PDFA,
        output_condition_identifier="sRGB",
        output_condition="IEC 61966-2-1:1999",
        registry_name="http://www.color.org",
        dest_output_profile=PDFICCProfile(contents=srgb_profile(), n=3, alternate="DeviceRGB"),
        info="sRGB IEC61966-2.1",
    )
