"""The transform's time grows linearly with a line's length whatever it holds (issue 20, item 4), proved from the
structure of its regular expressions rather than from timings, which flake on a loaded machine (`make bench`
prints the timings: seconds at 256 KB and 1 MB of each hostile shape, and their ratio).

- A pattern searched (search, finditer, findall, sub, split) has a bounded width: each start position costs a
  bounded number of steps. `[A-Z]+[1-5]?:  AUDIT: ` was not: each run of capitals was scanned again from each
  of its letters, 8,000 capitals took 0.75 s, 32,000 took 12 s.
- A pattern only matched at the start (match, fullmatch) has no unbounded repeat inside another, nor one
  followed by an unbounded repeat or an optional part that can take the same character: giving back a character
  then never starts a second way to read the same text.

Hostile lines then read as the spec says (the records below), with no clock involved."""

import ast
import re
import re._constants as sre  # the parse tree's opcodes: the only public view of a pattern's structure
import re._parser as sre_parse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgaudit_archiver import logline, transform
from pgaudit_archiver.logline import parse_entry, parse_entry_generally

SEARCHES = {"search", "finditer", "findall", "sub", "subn", "split"}
ANCHORED = {"match", "fullmatch"}
MODULES = [logline, transform]
UNBOUNDED = sre_parse.parse("a*").getwidth()[1]
SAMPLE = [chr(c) for c in range(0x250)] + ["\u0661", "\u2028", "✓", "𝄞"]  # ASCII, Latin, other scripts' digits


def pattern_calls(module) -> list[tuple[str, re.Pattern[str]]]:
    """(method, pattern) for every call of a module-level compiled pattern's method in the module's source."""
    tree = ast.parse(Path(module.__file__).read_text())
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "re":
                assert node.func.attr in {"compile", "escape"}, f"re.{node.func.attr}: compile it, then test it here"
            pattern = getattr(module, owner.id, None) if isinstance(owner, ast.Name) else None
            if isinstance(pattern, re.Pattern):
                calls.append((node.func.attr, pattern))
    return calls


def members(item) -> set[str]:
    """The characters of SAMPLE one parse-tree item (LITERAL, IN, ANY, ...) matches."""
    op, arg = item
    if op is sre.ANY:
        return set(SAMPLE)
    if op is sre.LITERAL:
        return {chr(arg)}
    if op is sre.NOT_LITERAL:
        return set(SAMPLE) - {chr(arg)}
    if op is sre.IN:
        negate = arg and arg[0][0] is sre.NEGATE
        chosen: set[str] = set()
        for part_op, part in arg[1:] if negate else arg:
            if part_op is sre.LITERAL:
                chosen.add(chr(part))
            elif part_op is sre.RANGE:
                chosen |= {c for c in SAMPLE if part[0] <= ord(c) <= part[1]}
            elif part_op is sre.CATEGORY:
                category = {sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_WORD: r"\w"}[part]
                chosen |= {c for c in SAMPLE if re.fullmatch(category, c, re.ASCII)}
            else:
                raise AssertionError(f"set member {part_op} not modelled")
        return set(SAMPLE) - chosen if negate else chosen
    return set()


def first_characters(items, follow: frozenset[str] = frozenset()) -> set[str]:
    """Characters that can begin a match of a sequence of items, then of `follow` if the sequence can match
    nothing (a superset: what a positive lookahead allows when it comes first)."""
    found: set[str] = set()
    for op, arg in items:
        if op is sre.ASSERT and arg[0] == 1 and first_characters(arg[1]):
            return found | first_characters(arg[1])  # a lookahead: what follows begins with what it allows
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # zero width
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            found |= first_characters(arg[2])
            if arg[0] > 0:
                return found
            continue
        if op is sre.SUBPATTERN:
            found |= first_characters(arg[3])
            if not can_be_empty(arg[3]):
                return found
            continue
        if op is sre.BRANCH:
            found |= set().union(*(first_characters(branch) for branch in arg[1]))
            if not any(can_be_empty(branch) for branch in arg[1]):
                return found
            continue
        return found | members((op, arg))
    return found | follow


def can_be_empty(items) -> bool:
    return sre_parse.SubPattern(sre_parse.State(), list(items)).getwidth()[0] == 0


def backtracking_hazards(items, follow: set[str], inside_repeat: bool = False) -> list[str]:
    """Unbounded repeats that can read the same text two ways: nested, or followed by what takes their characters.
    `follow`: the characters that can come after `items` in the whole pattern."""
    hazards = []
    items = list(items)
    for index, (op, arg) in enumerate(items):
        rest = items[index + 1 :]
        after = first_characters(rest, frozenset(follow))
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            unbounded = arg[1] == sre.MAXREPEAT
            if unbounded and inside_repeat:
                hazards.append(f"unbounded repeat inside a repeat: {arg[2]}")
            if unbounded and first_characters(arg[2]) & after:
                hazards.append(f"repeat {arg[2]} followed by what takes {sorted(first_characters(arg[2]) & after)[:5]}")
            hazards += backtracking_hazards(arg[2], after, inside_repeat or unbounded)
        elif op is sre.POSSESSIVE_REPEAT:
            hazards += backtracking_hazards(arg[2], after)  # gives nothing back
        elif op is sre.SUBPATTERN:
            hazards += backtracking_hazards(arg[3], after, inside_repeat)
        elif op is sre.BRANCH:
            for branch in arg[1]:
                hazards += backtracking_hazards(branch, after, inside_repeat)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            hazards += backtracking_hazards(arg[1], set(), inside_repeat)
    return hazards


def hazards_of(pattern: re.Pattern[str]) -> list[str]:
    return sorted(set(backtracking_hazards(sre_parse.parse(pattern.pattern, pattern.flags).data, set())))


def test_the_checks_catch_the_patterns_that_cost_quadratic_or_exponential_time():
    old_tag = re.compile(r"(?P<level>[A-Z]+[1-5]?):  AUDIT: ", re.ASCII)
    assert sre_parse.parse(old_tag.pattern).getwidth()[1] == UNBOUNDED  # searched: refused
    assert hazards_of(re.compile(r"(a+)+$"))
    assert hazards_of(re.compile(r"[^,]*[^:]*,"))
    assert hazards_of(re.compile(r"x.*(?:,|)y"))
    assert not hazards_of(re.compile(r"[^,]*,[^,]*,"))
    assert not hazards_of(re.compile(r'"[^"]*+(?:""[^"]*+)*+"'))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_searched_pattern_has_a_bounded_width(module):
    searched = [pattern.pattern for method, pattern in pattern_calls(module) if method in SEARCHES]
    for pattern in searched:
        assert sre_parse.parse(pattern).getwidth()[1] < UNBOUNDED, pattern


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_pattern_matched_at_the_start_reads_a_text_one_way(module):
    calls = pattern_calls(module)
    assert calls
    for method, pattern in calls:
        assert method in SEARCHES | ANCHORED, method
        if method in ANCHORED:
            assert hazards_of(pattern) == [], pattern.pattern


HEAD = "2026-11-25 10:00:02 UTC:10.0.0.5(57617):"
PREFIX = HEAD + "app@orders:[1703]:LOG:  "
HOSTILE_PIECES = [
    "A", "LOG", "ERROR", "LOG:  ", "STATEMENT:  ", ":", "@", '"', '""', ",", "AUDIT: ", ":[1]:", ":[1]:LOG:  ",
    "\r", "\n\t", "(", ")", "[local]", "SESSION,1,1,", "2026-11-25 10:00:02 UTC:",
]  # fmt: skip


@given(
    start=st.sampled_from(["", HEAD, HEAD + "a@b", PREFIX, PREFIX + "AUDIT: ", PREFIX + "AUDIT: SESSION,1,1,R,S,,,"]),
    pieces=st.lists(st.sampled_from(HOSTILE_PIECES), min_size=1, max_size=4),
    repeat=st.integers(1, 2000),
)
def test_hostile_shapes_are_read_as_the_general_parser_reads_them_and_lose_nothing(start, pieces, repeat):
    text = start + "".join(pieces) * repeat
    entry = parse_entry(text)
    plain = text.replace("\n\t", "\n")
    assert entry == parse_entry_generally(plain)
    if "audit_type" in entry:
        assert entry["level"] in {"LOG", "INFO", "NOTICE", "WARNING", "DEBUG"}
    else:
        assert plain.endswith(entry["message"])
