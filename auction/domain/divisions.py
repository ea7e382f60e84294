"""行政区划 (GB/T 2260): names of administrative division codes, as the China Land Market
website shows a parcel's 行政区 (顺德区, 崇左市本级) and carries its code behind it
(6 digits, or 9 with a township part: 440606000).

Pure: the table comes in as text (`parse_divisions`); the shell reads the shipped file
(auction/services/divisions_data/gbt2260.tsv) and an operator's newer one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

CODE = re.compile(r"[1-9][0-9]{5}(?:[0-9]{3})?")  # 6 digits, or 9 (with the township part)


@dataclass(frozen=True)
class Divisions:
    names: Mapping[str, str]  # code (6 or 9 digits) -> name
    sources: tuple[str, ...] = ()  # the file's `# source:` lines
    as_of: str = ""  # the file's `# date:` line

    def name(self, code: str) -> str | None:
        """The division's own name (顺德区, 崇左市), or None when the table does not have it.
        A 9-digit code is looked up as given first (a loaded file may name a 团 or a town),
        then, when its township part is 000, as its 6 digits."""
        if not CODE.fullmatch(code):
            return None
        if code in self.names:
            return self.names[code]
        if len(code) == 9 and code.endswith("000"):
            return self.names.get(code[:6])
        if len(code) == 6 and code.endswith("01") and not code.endswith("0001"):
            city = self.names.get(code[:4] + "00")  # 市辖区 of a prefecture: the city itself
            return None if city is None else city + "本级"
        return None

    def site_name(self, code: str) -> str | None:
        """The name as the site's 行政区 shows it: a prefecture's own parcels read `XX市本级`."""
        name = self.name(code)
        six = code[:6]
        if name is not None and six.endswith("00") and not six.endswith("0000") and code[6:] in ("", "000"):
            return name + "本级"
        return name

    def full_name(self, code: str) -> str | None:
        """Province, prefecture and county: 广东省佛山市顺德区."""
        own = self.name(code)
        if own is None:
            return None
        six = code[:6]
        province, prefecture = self.names.get(six[:2] + "0000", ""), self.names.get(six[:4] + "00", "")
        parts = [province, own] if own.endswith("本级") else [province, prefecture, own]
        out: list[str] = []
        for part in parts:
            if part and part not in out:
                out.append(part)
        return "".join(out)

    def merged(self, newer: Divisions) -> Divisions:
        """This table with a newer file's rows over it (renamed codes take the new name)."""
        return Divisions({**self.names, **newer.names}, self.sources + newer.sources, newer.as_of or self.as_of)

    def __len__(self) -> int:
        return len(self.names)


def parse_divisions(text: str) -> Divisions:
    """`code<TAB>name[<TAB>...]` or `code,name[,...]` lines; `#` comments, of which `# source:` and
    `# date:` are kept. A header line (`code,name`) and blank lines are skipped. Raises ValueError
    naming the first bad line."""
    names: dict[str, str] = {}
    sources: list[str] = []
    as_of = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("#"):
            comment = line[1:].strip()
            if comment.startswith("source:"):
                sources.append(comment[len("source:"):].strip())
            elif comment.startswith("date:"):
                as_of = comment[len("date:"):].strip()
            continue
        cells = [c.strip() for c in re.split(r"\t|,", line)]
        if number == 1 and not cells[0].isdigit():
            continue  # a header
        code = cells[0][:9] if len(cells[0]) == 12 and cells[0].endswith("000") else cells[0]  # 12-digit adcodes
        if len(code) == 9 and code.endswith("000"):
            code = code[:6]
        if len(cells) < 2 or not CODE.fullmatch(code) or not cells[1]:
            raise ValueError(f"line {number}: expected a 6- or 9-digit code and a name: {raw[:80]!r}")
        names[code] = cells[1]
    if not names:
        raise ValueError("no division rows")
    return Divisions(names, tuple(sources), as_of)
