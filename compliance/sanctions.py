"""OFAC SDN list: parsing the official files and fuzzy name matching.

Formats (https://ofac.treasury.gov/specially-designated-nationals-list-data-formats-data-schemas):
- delimited: `sdn.csv` (ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type,
  Tonnage, GRT, Vess_flag, Vess_owner, Remarks), `alt.csv` (ent_num, alt_num, alt_type,
  alt_name, alt_remarks), `add.csv` (ent_num, add_num, address, city, country, add_remarks);
  no header row, null written as `-0-`; dates of birth and nationality live in Remarks.
- XML: `SDN.xml` (`sdnList/sdnEntry` with uid, lastName, firstName, sdnType, programList,
  akaList, addressList, nationalityList, citizenshipList, dateOfBirthList).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pycountry
from defusedxml import ElementTree
from rapidfuzz import fuzz, process, utils

NULL = "-0-"


@dataclass
class ParsedEntry:
    uid: str
    name: str
    sdn_type: str = ""
    programs: list[str] = field(default_factory=list)
    remarks: str = ""
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (name, type)
    dobs: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


@dataclass
class ParsedList:
    entries: list[ParsedEntry]
    file_format: str
    publish_date: str = ""


def _clean(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value == NULL else value


_DOB_RE = re.compile(r"\bDOB\s+([^;]+)", re.IGNORECASE)
_NAT_RE = re.compile(r"\b(?:nationality|citizen)\s+([^;.()]+)", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(1[89]\d{2}|20\d{2})\b")


def dob_years(text: str) -> list[int]:
    return [int(y) for y in _YEAR_RE.findall(text or "")]


def country_alpha2(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return ""
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        try:
            return pycountry.countries.search_fuzzy(name)[0].alpha_2
        except LookupError:
            return ""


def _read_csv(path: Path) -> list[list[str]]:
    # OFAC files are published in latin-1-compatible text; be lenient about the odd byte.
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [row for row in csv.reader(io.StringIO(text)) if row and row[0].strip() and row[0].strip() != "\x1a"]


def parse_csv(sdn_path: Path) -> ParsedList:
    entries: dict[str, ParsedEntry] = {}
    for row in _read_csv(sdn_path):
        row = row + [""] * (12 - len(row))
        uid = _clean(row[0])
        remarks = _clean(row[11])
        entry = ParsedEntry(
            uid=uid, name=_clean(row[1]), sdn_type=_clean(row[2]),
            programs=[p.strip() for p in _clean(row[3]).replace("] [", ";").strip("[]").split(";") if p.strip()],
            remarks=remarks,
        )
        entry.dobs = [m.strip() for m in _DOB_RE.findall(remarks)]
        entry.countries = [m.strip() for m in _NAT_RE.findall(remarks)]
        entries[uid] = entry
    folder = sdn_path.parent
    alt = next((p for p in (folder / "alt.csv", folder / "ALT.CSV") if p.exists()), None)
    if alt:
        for row in _read_csv(alt):
            row = row + [""] * (5 - len(row))
            if (e := entries.get(_clean(row[0]))) and _clean(row[3]):
                e.aliases.append((_clean(row[3]), _clean(row[2])))
    add = next((p for p in (folder / "add.csv", folder / "ADD.CSV") if p.exists()), None)
    if add:
        for row in _read_csv(add):
            row = row + [""] * (6 - len(row))
            if (e := entries.get(_clean(row[0]))) and _clean(row[4]):
                e.countries.append(_clean(row[4]))
    return ParsedList(entries=list(entries.values()), file_format="csv")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el, name: str):
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el, name: str) -> str:
    c = _child(el, name)
    return (c.text or "").strip() if c is not None else ""


def _children(el, name: str) -> list:
    c = _child(el, name)
    return list(c) if c is not None else []


def _full_name(el) -> str:
    last, first = _text(el, "lastName"), _text(el, "firstName")
    return f"{last}, {first}" if last and first else (last or first)


def parse_xml(path: Path) -> ParsedList:
    root = ElementTree.parse(str(path)).getroot()
    publish = ""
    entries = []
    for el in root:
        tag = _local(el.tag)
        if tag == "publshInformation":
            publish = _text(el, "Publish_Date")
        if tag != "sdnEntry":
            continue
        entry = ParsedEntry(
            uid=_text(el, "uid"), name=_full_name(el), sdn_type=_text(el, "sdnType"),
            programs=[(p.text or "").strip() for p in _children(el, "programList")],
            remarks=_text(el, "remarks"),
        )
        entry.aliases = [(_full_name(a), _text(a, "type")) for a in _children(el, "akaList") if _full_name(a)]
        entry.dobs = [_text(d, "dateOfBirth") for d in _children(el, "dateOfBirthList") if _text(d, "dateOfBirth")]
        for list_name in ("nationalityList", "citizenshipList", "addressList"):
            entry.countries += [_text(c, "country") for c in _children(el, list_name) if _text(c, "country")]
        entries.append(entry)
    return ParsedList(entries=entries, file_format="xml", publish_date=publish)


def parse_path(path: str | Path) -> ParsedList:
    p = Path(path)
    if p.is_dir():
        xml = next((c for c in (p / "SDN.xml", p / "sdn.xml") if c.exists()), None)
        p = xml or p / "sdn.csv"
    if not p.exists():
        raise FileNotFoundError(f"No SDN file at {p}")
    if p.suffix.lower() == ".xml":
        return parse_xml(p)
    return parse_csv(p)


# ------------------------------------------------------------------ matching

@dataclass
class Candidate:
    uid: str
    entry_name: str
    programs: str
    names: list[str]
    dob_years: set[int]
    countries: set[str]


@dataclass
class Match:
    candidate: Candidate
    matched_name: str
    name_score: float
    score: int
    detail: dict


DOB_MATCH_BOOST = 8
DOB_MISMATCH_PENALTY = 15
COUNTRY_MATCH_BOOST = 4
COUNTRY_MISMATCH_PENALTY = 4


def name_score(query: str, name: str) -> float:
    return max(fuzz.token_sort_ratio(query, name, processor=utils.default_process),
               fuzz.WRatio(query, name, processor=utils.default_process))


def match(*, name: str, dob_year: int | None, countries: set[str], candidates: list[Candidate],
          threshold: int) -> list[Match]:
    """Names and aliases scored with rapidfuzz; date of birth and country only move a score
    that is already close, so they break ties rather than create hits on their own."""
    if not name.strip() or not candidates:
        return []
    choices: list[str] = []
    owners: list[int] = []
    for i, c in enumerate(candidates):
        for n in c.names:
            choices.append(n)
            owners.append(i)
    near = threshold - DOB_MATCH_BOOST - COUNTRY_MATCH_BOOST
    best: dict[int, tuple[float, str]] = {}
    for scorer in (fuzz.token_sort_ratio, fuzz.WRatio):
        for matched, s, idx in process.extract(name, choices, scorer=scorer, processor=utils.default_process,
                                               score_cutoff=near, limit=None):
            owner = owners[idx]
            if owner not in best or s > best[owner][0]:
                best[owner] = (s, matched)
    out = []
    for owner, (s, matched) in best.items():
        c = candidates[owner]
        adj, detail = s, {"name_score": round(s, 1)}
        if dob_year and c.dob_years:
            if dob_year in c.dob_years:
                adj += DOB_MATCH_BOOST
                detail["dob"] = "match"
            else:
                adj -= DOB_MISMATCH_PENALTY
                detail["dob"] = "mismatch"
        if countries and c.countries:
            if countries & c.countries:
                adj += COUNTRY_MATCH_BOOST
                detail["country"] = "match"
            else:
                adj -= COUNTRY_MISMATCH_PENALTY
                detail["country"] = "mismatch"
        score = max(0, min(100, round(adj)))
        if score >= threshold:
            out.append(Match(candidate=c, matched_name=matched, name_score=s, score=score, detail=detail))
    out.sort(key=lambda m: -m.score)
    return out
