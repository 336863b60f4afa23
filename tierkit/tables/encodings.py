"""Which text encoding a CSV export is in, and a UTF-8 copy when it is not UTF-8.

Chinese exports come as UTF-8 (with or without a BOM), GBK/GB18030 (Excel and older ERPs on a
Chinese Windows) or UTF-16 (Excel's "Unicode text"). The engines read UTF-8 only, so any other
encoding is decoded once, streaming, into a UTF-8 copy; the user's file is never changed and
errors keep naming it. GB18030 is a superset of GBK and GB2312, so one decoder serves all three.

A file that is not text (a workbook or Parquet file with a .csv name, binary data) or that no
candidate decodes is an error, never a success with garbage in it.
"""

from __future__ import annotations

import codecs
import collections
import re
from collections.abc import Iterator
from pathlib import Path

from tierkit.errors import InputError

SAMPLE = 1 << 20
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
MAGIC = {
    b"PK\x03\x04": "an Excel workbook or ZIP archive (save it as .xlsx)",
    b"PAR1": "a Parquet file (name it .parquet)",
}
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
WIDE = re.compile(rb"[\x80-\xff]")  # a byte that is not ASCII


def detect(path: Path) -> str:
    """The file's encoding: 'utf-8', 'utf-8-sig', 'utf-16', 'utf-16-le', 'utf-16-be' or 'gb18030'."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE)
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"{path}: this is {what}, not CSV text")
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    check_text(path, head.decode("ascii", errors="replace"), 1)
    whole, first_line = len(head) < SAMPLE, 1
    first = WIDE.search(head)
    if not whole and (first is None or first.start() >= len(head) - 4):
        # ids, dates and amounts first (a character may straddle the sample's end): decide where the text is
        head, whole, first_line = _first_wide_text(path) or (head, True, 1)
    for name in ("utf-8", "gb18030"):
        text = _decoded(head, name, whole=whole)
        if text is not None:
            if name == "gb18030" and not looks_chinese(text):
                raise InputError(
                    f"{path}: not UTF-8, and as GBK it reads as rare characters between Latin letters "
                    f"(a Western encoding such as Latin-1?); save the file as UTF-8 CSV"
                )
            return name
    line, shown = _first_bad(head, whole, first_line)
    raise InputError(
        f"{path}: line {line}: bytes that are not UTF-8, GBK/GB18030 or UTF-16 text ({shown}); save it as UTF-8 CSV"
    )


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 without a BOM. Its ASCII characters (digits, commas, line ends) each have a NUL
    byte on one side: mostly-ASCII text shows it by the NULs' count. Mostly-Chinese text has fewer
    (and characters such as 一 U+4E00 put some on the other side), so it also counts when the text
    reads as clean UTF-16 with lines and fields, and has no more ASCII characters than NULs on
    their side. CSV text in UTF-8 or GBK has no NUL of its own: a stray one never passes."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if len(head) < 4 or not (even or odd):
        return None
    if max(even, odd) > len(head) // 4:
        return "utf-16-le" if odd > even else "utf-16-be"
    sample = head[: len(head) - len(head) % 2]
    for name, nuls in (("utf-16-le", odd), ("utf-16-be", even)):
        text = _decoded(sample, name, whole=False)
        if text is None or CONTROL.search(text) or "\n" not in text or not any(d in text for d in ",\t;|"):
            continue
        if sum(ch.isascii() for ch in text) <= nuls:  # each ASCII character brings one NUL
            return name
    return None


def _first_bad(data: bytes, whole: bool, first_line: int) -> tuple[int, str]:
    """The line and bytes where the encoding that reads furthest stops reading."""
    stops = []
    for name in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(name)("strict").decode(data, final=whole)
        except UnicodeDecodeError as exc:
            stops.append(exc.start)
    at = max(stops, default=0)
    return first_line + data.count(b"\n", 0, at), data[at : at + 4].hex(" ")


def _first_wide_text(path: Path) -> tuple[bytes, bool, int] | None:
    """A sample from the line holding the first byte that is not ASCII, whether it runs to the end
    of the file, and its line number; None for a file that is ASCII throughout. For exports whose
    first megabyte is all ids, dates and amounts, with the first Chinese text (a remark, a
    channel) further down."""
    lines = 1
    with path.open("rb") as handle:
        while block := handle.read(SAMPLE):
            found = None if block.isascii() else WIDE.search(block)  # isascii: a dozen times faster
            if found is None:
                lines += block.count(b"\n")
                continue
            start = block.rfind(b"\n", 0, found.start()) + 1
            sample = block[start:] + handle.read(SAMPLE - (len(block) - start))
            return sample, not handle.read(1), lines + block.count(b"\n", 0, start)
    return None


def looks_chinese(text: str) -> bool:
    """Whether GB18030-decoded text is Chinese and not Latin-1 bytes read as Chinese.

    Real Chinese text is almost all in GB2312's common block (both bytes 0xA1 and up); Latin-1
    letters such as ü (0xFC) followed by an ASCII letter decode to rare GBK characters instead."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return True
    common = 0
    for ch in wide:
        encoded = ch.encode("gb18030")
        common += len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1
    return common >= 0.5 * len(wide)


def _decoded(data: bytes, encoding: str, whole: bool) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        return decoder.decode(data, final=whole)  # a sample may end inside a character
    except UnicodeDecodeError:
        return None


def _decode_blocks(path: Path, encoding: str, problem: str) -> Iterator[tuple[str, int]]:
    """The file's text block by block with the line each block starts on; a bad byte is an error
    naming its line (`problem` says what the bytes are not)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    line = 1
    with path.open("rb") as source:
        while block := source.read(SAMPLE):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                good = decoder.decode(block[: exc.start]) if exc.start else ""
                raise InputError(
                    f"{path}: line {line + good.count(chr(10))}: bytes that are not {problem} "
                    f"({block[exc.start : exc.start + 4].hex(' ')})"
                ) from None
            yield text, line
            line += text.count("\n")
    try:
        yield decoder.decode(b"", final=True), line
    except UnicodeDecodeError:  # the last bytes are half a character
        what = "a UTF-16 character (an odd number of bytes)" if encoding.startswith("utf-16") else "a character"
        raise InputError(
            f"{path}: line {line}: the file ends inside {what}: it was cut short, or it is not "
            f"{encoding.upper().replace('-LE', '').replace('-BE', '')}; save it again as UTF-8 CSV"
        ) from None


def to_utf8(path: Path, encoding: str, target: Path) -> None:
    """Decode the whole file into a UTF-8 copy at `target`, naming the line of a bad byte."""
    with target.open("w", encoding="utf-8", newline="") as out:
        for text, line in _decode_blocks(path, encoding, f"{encoding.upper()} text; save the file as UTF-8 CSV"):
            check_text(path, text, line)
            out.write(text)


def check_utf8(path: Path) -> None:
    """A UTF-8 file, checked whole. Only on the way to an error: the engine refused the file and a
    bad byte past the sampled first megabyte may be why; this names its line."""
    collections.deque(_decode_blocks(path, "utf-8", "UTF-8, in a file that starts as UTF-8"), maxlen=0)


def check_text(path: Path, text: str, first_line: int) -> None:
    """Control characters mean binary data or a wrong guess at the encoding: stop, name the line."""
    found = CONTROL.search(text)
    if found:
        line = first_line + text.count("\n", 0, found.start())
        raise InputError(
            f"{path}: line {line}: control character U+{ord(found.group()):04X}; this does not look like CSV text"
        )
