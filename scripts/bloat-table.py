"""Turns `cargo bloat --crates --message-format json` (on stdin) into a Markdown
table of the N crates with the most code, the rest summed, for docs/benchmarks.md.
Usage: cargo bloat ... | python3 scripts/bloat-table.py N"""

import json
import sys

MB = 1024 * 1024  # as the footprint table counts

top = int(sys.argv[1]) if len(sys.argv) > 1 else 15
bloat = json.load(sys.stdin)
text = bloat["text-section-size"]
crates = sorted(bloat["crates"], key=lambda c: c["size"], reverse=True)


def row(name, size):
    print(f"| {name} | {size / MB:.2f} MB | {100 * size / text:.1f} % |")


print(
    f"Unstripped file {bloat['file-size'] / MB:.1f} MB; code (.text) {text / MB:.1f} MB, by crate:"
)
print()
print("| crate | code | share of .text |")
print("| --- | ---: | ---: |")
for crate in crates[:top]:
    row(f"`{crate['name']}`", crate["size"])
rest = crates[top:]
row(f"{len(rest)} other crates", sum(c["size"] for c in rest))
