"""A search-quality corpus from real text on this machine, and the queries asked of it.

Documents: English man pages (troff stripped), pydoc pages of standard-library modules, the licenses in
/usr/share/common-licenses and Debian changelogs; identical texts kept once. Queries: exact sentences
found in exactly one document, the same with 30% of the words dropped and two typos, and hand-written
paraphrases of named documents.
"""
from __future__ import annotations

import gzip
import hashlib
import random
import re
import sys
from pathlib import Path

_TROFF_ESCAPE = re.compile(r"\\(f[BIRP\d]|f\(..|f\[[^]]*\]|s[-+]?\d|\(..|\[[^]]*\]|[-&|^e0 .,/'`\"])")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
SKIP_MODULES = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "lib2to3", "pydoc_data",
                "__main__", "xxsubtype", "xxlimited", "ensurepip", "venv", "sre_compile", "sre_parse",
                "sre_constants", "webbrowser"}

# Hand-written: what a user might type, in other words than the document's. (target document, query)
PARAPHRASES = [
    ("man:ls", "show what files sit inside a folder"),
    ("man:grep", "find lines matching a pattern in text files"),
    ("man:tar", "pack many files into one archive and unpack it later"),
    ("man:chmod", "change who may read, write or run a file"),
    ("man:cp", "duplicate files and folders to another place"),
    ("man:sort", "put the lines of a text in order"),
    ("man:base64", "encode binary bytes as printable characters and decode them again"),
    ("man:basename", "strip the directory and suffix from a path name"),
    ("man:awk", "pattern scanning language that processes fields of each record"),
    ("man:bc", "arbitrary precision calculator language"),
    ("man:gzip", "make files smaller by compressing them"),
    ("man:ssh", "log into a remote machine securely"),
    ("man:kill", "send a signal to stop a running process"),
    ("man:mkdir", "make new directories"),
    ("man:wc", "count lines, words and bytes"),
    ("man:head", "print the first part of files"),
    ("pydoc:heapq", "priority queue where the smallest item always comes out first"),
    ("pydoc:json", "turn Python dictionaries into a text interchange format and parse it back"),
    ("pydoc:datetime", "dates, times of day and differences between moments"),
    ("pydoc:random", "pseudo random numbers, shuffling and sampling from sequences"),
    ("pydoc:shutil", "high level operations to copy and remove whole directory trees"),
    ("pydoc:zipfile", "read and write ZIP archives"),
    ("pydoc:csv", "read and write comma separated values files"),
    ("pydoc:bisect", "keep a list sorted while inserting using binary search"),
    ("pydoc:hashlib", "secure digests such as SHA256 and MD5 of bytes"),
    ("pydoc:uuid", "universally unique identifiers"),
    ("pydoc:argparse", "parse command line options and arguments for a program"),
    ("pydoc:textwrap", "wrap and fill paragraphs of text to a width"),
    ("pydoc:difflib", "compute deltas between sequences such as lines of two files"),
    ("pydoc:statistics", "mean, median and standard deviation of data"),
    ("pydoc:fractions", "rational numbers as numerator over denominator"),
    ("pydoc:secrets", "generate tokens suitable for passwords and security"),
    ("pydoc:tempfile", "create temporary files and directories that are removed later"),
    ("pydoc:fnmatch", "match filenames against shell wildcard patterns"),
    ("pydoc:calendar", "print a month or year calendar"),
    ("pydoc:sqlite3", "an embedded SQL database in a single file"),
    ("license:GPL-3", "free software license that requires sharing the source of modified versions"),
    ("license:Apache-2.0", "permissive license with an explicit patent grant from contributors"),
    ("license:MPL-2.0", "file level copyleft from the Mozilla foundation"),
    ("license:CC0-1.0", "dedicate a work to the public domain, waiving all rights"),
]


def _man_text(raw: str) -> str:
    """Plain text of a troff man page: macros dropped (their arguments kept), escapes removed."""
    lines = []
    for line in raw.splitlines():
        if line.startswith(('.\\"', "'\\\"", '.ig', '.de')):
            continue
        if line.startswith("."):
            parts = line.split(None, 1)
            line = parts[1] if len(parts) > 1 and parts[0] in {".SH", ".SS", ".B", ".I", ".BR", ".IR", ".BI",
                                                              ".RB", ".RI", ".IB", ".IP", ".TP"} else ""
            line = line.replace('"', "")
        lines.append(_TROFF_ESCAPE.sub(" ", line))
    return re.sub(r"[ \t]+", " ", "\n".join(lines)).strip()


def man_pages(limit: int) -> dict[str, str]:
    """Up to `limit` English man pages from sections 1, 5 and 8, an even spread by name."""
    # gcloud's thousands of generated, near-identical pages would crowd out everything else.
    paths = sorted(p for section in ("man1", "man5", "man8") for p in Path("/usr/share/man", section).glob("*.gz")
                   if not p.name.startswith("gcloud"))
    wanted = {f"{name}.1.gz" for name in ("ls", "grep", "tar", "chmod", "cp", "sort", "base64", "basename",
                                          "awk", "bc", "gzip", "ssh", "kill", "mkdir", "wc", "head")}
    step = max(1, len(paths) // limit)
    chosen = [p for i, p in enumerate(paths) if i % step == 0 or p.name in wanted]
    docs = {}
    for path in chosen:
        try:
            text = _man_text(gzip.open(path, "rt", errors="replace").read())
        except (OSError, EOFError):
            continue
        if len(text) > 400 and not text.startswith(".so"):
            docs[f"man:{path.name.split('.')[0]}"] = text[:60_000]
    return docs


def pydoc_pages(limit: int) -> dict[str, str]:
    """pydoc plain-text pages of importable standard-library modules."""
    import pydoc
    import warnings

    docs = {}
    for name in sorted(sys.stdlib_module_names):
        if len(docs) >= limit or name.startswith("_") or name in SKIP_MODULES:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = __import__(name)
                text = pydoc.render_doc(module, renderer=pydoc.plaintext)
        except Exception:
            continue
        docs[f"pydoc:{name}"] = text[:60_000]
    return docs


def licenses() -> dict[str, str]:
    """Every license text under /usr/share/common-licenses (symlinks are the same text: kept once below)."""
    root = Path("/usr/share/common-licenses")
    return {f"license:{p.name}": p.read_text(errors="replace") for p in sorted(root.iterdir()) if p.is_file()}


def changelogs(limit: int) -> dict[str, str]:
    """Debian changelogs of installed packages (their first 30,000 characters)."""
    docs = {}
    for path in sorted(Path("/usr/share/doc").glob("*/changelog.Debian.gz"))[:limit]:
        try:
            docs[f"changelog:{path.parent.name}"] = gzip.open(path, "rt", errors="replace").read()[:30_000]
        except (OSError, EOFError):
            continue
    return docs


def build_corpus(man_limit: int = 1600, pydoc_limit: int = 260, changelog_limit: int = 1100) -> dict[str, str]:
    """{document name: text}, identical texts kept once (the first name wins)."""
    docs, seen = {}, set()
    for name, text in {**licenses(), **pydoc_pages(pydoc_limit), **man_pages(man_limit),
                       **changelogs(changelog_limit)}.items():
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest not in seen and text.strip():
            seen.add(digest)
            docs[name] = text
    return docs


def _sentences(text: str) -> list[str]:
    """Sentences of 8-30 words, whitespace collapsed."""
    flat = " ".join(text.split())
    return [s for s in _SENTENCE.split(flat) if 8 <= len(s.split()) <= 30]


def exact_queries(docs: dict[str, str], count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(document, sentence) pairs: sentences found in exactly one document."""
    owners: dict[str, set[str]] = {}
    for name, text in docs.items():
        for sentence in _sentences(text):
            owners.setdefault(sentence, set()).add(name)
    unique = sorted((next(iter(names)), sentence) for sentence, names in owners.items() if len(names) == 1)
    rng = random.Random(seed)
    by_doc: dict[str, list[str]] = {}
    for name, sentence in unique:
        by_doc.setdefault(name, []).append(sentence)
    names = sorted(by_doc)
    rng.shuffle(names)
    return [(name, rng.choice(by_doc[name])) for name in names[:count]]


def noisy(sentence: str, rng: random.Random) -> str:
    """The sentence with 30% of its words dropped and two typos (a swapped or replaced letter)."""
    words = sentence.split()
    keep = sorted(rng.sample(range(len(words)), max(1, round(len(words) * 0.7))))
    words = [words[i] for i in keep]
    for _ in range(2):
        candidates = [i for i, w in enumerate(words) if len(w) >= 4]
        if not candidates:
            break
        i = rng.choice(candidates)
        word, j = words[i], rng.randrange(1, len(words[i]) - 2)
        if rng.random() < 0.5:
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
        else:
            words[i] = word[:j] + rng.choice("aeioustrn") + word[j + 1:]
    return " ".join(words)


def noisy_queries(exact: list[tuple[str, str]], seed: int = 11) -> list[tuple[str, str]]:
    """The exact queries, each made noisy."""
    rng = random.Random(seed)
    return [(name, noisy(sentence, rng)) for name, sentence in exact]


def paraphrase_queries(docs: dict[str, str]) -> list[tuple[str, str]]:
    """The hand-written paraphrases whose target document is on this machine."""
    return [(name, query) for name, query in PARAPHRASES if name in docs]
