"""Puts a section into docs/benchmarks.md between its markers (or at the end the first time).

    python3 bench/write_section.py DOC NAME SECTION

SECTION must start with <!-- NAME:begin --> and end with <!-- NAME:end -->; what the file has
between those markers is replaced, and everything else is kept.
"""
import re
import sys

path, name, section = sys.argv[1], sys.argv[2], sys.argv[3]
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
try:
    text = open(path, encoding="utf-8").read()
except FileNotFoundError:
    text = "# Benchmarks\n"
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w", encoding="utf-8").write(text)
