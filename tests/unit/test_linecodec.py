"""The C encoder gives, for every event, the record the pure-Python reference gives; lines outside what RDS
and pgaudit write go to the reference, and only those."""

import base64
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pgaudit_linecodec import base64_text

from local.template import load_template
from local.transform_bench import generated_line
from tests.differential import native, reference

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "2026-11-25 10:00:02 UTC:10.0.0.5(57617):app@orders:[1703]:LOG:  "


EVENT_ID = "37952891235608231000000000000000000000000000000000000000"  # 56 digits, as CloudWatch Logs writes


def event(message: str, **fields) -> dict:
    return {"id": EVENT_ID, "timestamp": 1795600000123, "message": message, **fields}


def assert_same(events: list[dict], handed_over: int, audit_only: bool = False) -> None:
    records, count = native(events, audit_only)
    assert records == reference(events, audit_only)
    assert count == handed_over


def test_the_transform_function_is_deployed_with_the_c_encoder_built_for_its_architecture():
    template = load_template(ROOT / "template.yaml")
    layer = template["Resources"]["LineCodecLayer"]
    function = template["Resources"]["FirehoseTransformFunction"]["Properties"]
    assert {"Ref": "LineCodecLayer"} in function["Layers"]
    architecture = function.get("Architectures", template["Globals"]["Function"]["Architectures"])
    assert [layer["Metadata"]["BuildArchitecture"]] == layer["Properties"]["CompatibleArchitectures"] == architecture
    assert layer["Metadata"]["BuildMethod"] == "makefile"


def test_benchmark_lines_are_all_encoded_in_c_and_equal_the_reference():
    rng = random.Random(1)
    assert_same([event(generated_line(rng, n)) for n in range(3000)], handed_over=0)


@pytest.mark.parametrize(
    "message",
    [
        PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<not logged>",
        PREFIX + 'AUDIT: OBJECT,5,1,DDL,CREATE MATERIALIZED VIEW,MATERIALIZED VIEW,"public.""odd, name""",c,<none>',
        PREFIX + 'AUDIT: SESSION,3,1,READ,SELECT,,,"SELECT $1, $2, $3","42,""a, b"",""say """"hi"""""""',
        PREFIX + 'AUDIT: SESSION,3,1,READ,SELECT,,,"SELECT $1, $2",",""""",7',
        PREFIX + "AUDIT: SESSION,4,1,READ,SELECT,TABLE,public.t,select * from t,<none>,7",
        PREFIX + "AUDIT: SESSION,4,1,MISC,SET,,,set x = 1,<none>,",
        PREFIX + "AUDIT: SESSION,9,1,READ,SELECT,TABLE,t,select $1,",
        PREFIX + 'AUDIT: SESSION,2,1,WRITE,INSERT,TABLE,t,"INSERT INTO t VALUES (1, \'a ""b""\')\n\t  RETURNING id",',
        PREFIX + 'AUDIT: SESSION,2,1,WRITE,INSERT,TABLE,t,"a\r\nb\\\\c \x01\x1f\x7f Zoë ✓ 𝄞",<not logged>',
        PREFIX + "AUDIT: SESSION,6,1,ROLE,ALTER ROLE,,,ALTER ROLE app PASSWORD <REDACTED>,<previously logged>",
        PREFIX + 'AUDIT: "SESSION",7,1,READ,SELECT,,,"",""',
        PREFIX + 'AUDIT: SESSION,8,1,READ,SELECT,,,x,"<none>"',
        PREFIX + 'ERROR:  relation "missing" does not exist',
        PREFIX + "AUDIT",
        "2026-11-25 10:00:02.123 CEST:[local]:app@orders:[1703]:LOG:  connection authorized",
        "2026-11-25 10:00:02 UTC:2001:db8::17(41234):app@orders:[1703]:LOG:  AUDIT: SESSION,1,1,MISC,SET,,,x,<none>",
        '2026-11-25 10:00:02 UTC:::1(5432):a"p@o,d:[]:DEBUG1:  x',
        "2026-11-25 10:00:02 UTC::@:[42]:LOG:  checkpoint starting: time",
        "2026-11-25 10:00:02 UTC:[local](5):app@orders:[1703]:LOG:  x",
        "2026-11-25 10:00:02 UTC::@:[42]:LOG:  ",
        "2026-11-25 10:00:02 UTC:10.0.0.5(57617):app@orders:[1703]:STATEMENT:  SELECT 1\n\tFROM t\n\t\n\t",
    ],
)
def test_lines_rds_and_pgaudit_write_are_encoded_in_c(message):
    assert_same([event(message)], handed_over=0)


@pytest.mark.parametrize(
    "message",
    [
        "no prefix at all",
        "",
        PREFIX + "AUDIT: not,csv",
        PREFIX + "AUDIT: SESSION,x,1,READ,SELECT,,,s,<none>",
        PREFIX + 'AUDIT: SESSION,"7",1,READ,SELECT,,,s,<none>',
        PREFIX + 'AUDIT: SESSION,1,1,READ,SELECT,,,"unterminated',
        PREFIX + 'AUDIT: SESSION,1,1,READ,SELECT,,,"closed"then,<none>',
        PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,a,b,1,extra",
        PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,line\nbreak unquoted,<none>",
        PREFIX + 'AUDIT: SESSION,1,1,READ,SELECT,,,"x","1,a""b",5',
        PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,x,<none>,12a",
        PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,x,<none>,²",
        PREFIX + "AUDIT: SESSION,\u0661,1,READ,SELECT,,,x,<none>",
        PREFIX + 'AUDIT: SESSION,1,1,READ,SELECT,,,x,"a\nb,c"',
        PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,x\x00y,<none>",
        "2026-11-25 10:00:02 UTC:h(x):app@orders:[1703]:LOG:  x",
        "2026-11-25 10:00:02 TOOLONG:10.0.0.5(1):app@orders:[1703]:LOG:  x",
        "2026-11-25 10:00:02 UTC:10.0.0.5(1):app@orders:[\u0661]:LOG:  x",
        "2026-11-25 10:00:02 UTC:10.0.0.5(1):app@orders:[1703]:log:  x",
    ],
)
def test_other_lines_go_to_the_reference(message):
    assert_same([event(message)], handed_over=1)


@pytest.mark.parametrize(
    ("fields", "handed_over"),
    [
        ({"timestamp": 0}, 0),
        ({"timestamp": 253402300799999}, 0),  # 9999-12-31T23:59:59.999
        ({"timestamp": 951782400000}, 0),  # 2000-02-29
        ({"id": None}, 0),
        ({"timestamp": -1}, 1),
        ({"id": 7}, 1),
    ],
)
def test_event_times_and_ids(fields, handed_over):
    assert_same([event(PREFIX + "x", **fields)], handed_over)


def test_an_event_without_an_id_has_a_null_one_like_the_reference():
    events = [{"timestamp": 1795600000123, "message": PREFIX + "x"}]
    assert_same(events, handed_over=0)
    assert native(events)[0][0]["event_id"] is None


@pytest.mark.parametrize(
    "broken",
    [
        {"timestamp": 1, "message": "\ud800 lone surrogate"},
        {"timestamp": 1, "message": PREFIX + "AUDIT: SESSION,1234567890123456789012,1,READ,SELECT,,,x,<none>"},
        {"timestamp": 253402300800000, "message": "year 10000"},
        {"timestamp": "1", "message": "x"},
        {"message": "x"},
        "x",
    ],
)
def test_events_the_reference_cannot_encode_fail_the_same_way(broken):
    with pytest.raises(Exception) as from_reference:
        reference([broken])
    with pytest.raises(from_reference.type):
        native([broken])


def test_audit_only_keeps_the_same_events():
    events = [event(m) for m in (PREFIX + "AUDIT: SESSION,1,1,READ,SELECT,,,x,<none>", PREFIX + "x", "y", "")]
    assert_same(events, handed_over=2, audit_only=True)
    assert len(native(events, audit_only=True)[0]) == 1


@pytest.mark.parametrize("size", [*range(10), 1000, 1001, 1002])
def test_base64_text_is_base64(size):
    data = random.Random(size).randbytes(size)
    assert base64_text(data) == base64.b64encode(data).decode()


PLAIN = ["a", "b", " ", "é", "A", "1", "_", "."]
SPECIAL = [*',"@:()[]\r\n\t\\', "\x01", "✓", "𝄞", "\u0661"]
TEXT = st.text(alphabet=st.sampled_from(PLAIN * 3 + SPECIAL), max_size=8)
NOISE = st.text(alphabet=st.sampled_from(PLAIN + SPECIAL + ["\x00"]), max_size=8)


def csv_field(value: str) -> str:
    """pgaudit's append_valid_csv."""
    doubled = value.replace('"', '""')
    return f'"{doubled}"' if any(c in value for c in ',"\r\n') else value


def without(characters: str):
    return TEXT.map(lambda text: "".join(c for c in text if c not in characters))


@st.composite
def pgaudit_lines(draw) -> str:
    """What RDS and pgaudit write: RDS's prefix, then an AUDIT line or another message."""
    log_time = draw(st.sampled_from(["2026-11-25 10:00:02 UTC", "2026-11-25 10:00:02.5 CEST"]))
    client = draw(st.sampled_from(["10.0.0.5(57617)", "[local]", "", "2001:db8::17(4)", "::1(5432)"]))
    user, database = draw(without("@:")), draw(without(":"))
    pid = draw(st.sampled_from(["", "1703"]))
    level = draw(st.sampled_from(["LOG", "ERROR", "DEBUG1", "STATEMENT"]))
    if draw(st.integers(0, 3)):
        kind = draw(st.sampled_from(["SESSION", "OBJECT"]))
        ids = draw(st.lists(st.sampled_from(["1", "42", "007"]), min_size=2, max_size=2))
        texts = draw(st.lists(TEXT, min_size=5, max_size=5))
        values = st.lists(TEXT, max_size=3).map(lambda values: csv_field(",".join(map(csv_field, values))))
        parameter = draw(st.one_of(st.sampled_from(["<not logged>", "<none>"]), values))
        rows = draw(st.sampled_from([[], [""], ["7"]]))
        body = "AUDIT: " + ",".join([kind, *ids, *map(csv_field, texts), parameter, *rows])
    else:
        body = draw(TEXT)
    return f"{log_time}:{client}:{user}@{database}:[{pid}]:{level}:  {body}".replace("\n", "\n\t")


@st.composite
def broken_lines(draw) -> str:
    """pgaudit lines with one part replaced by noise or by a near miss."""
    parts = draw(pgaudit_lines()).split(",")
    index = draw(st.integers(0, len(parts) - 1))
    near_misses = ["", "x", "\u0661", "\x00", '"', '"a"b', "[local](5)", "TOOLONG", "log", "1234567890123456789012"]
    parts[index] = draw(st.one_of(NOISE, st.sampled_from(near_misses)))
    return ",".join(parts)


@settings(max_examples=2000, deadline=None)
@given(lines=st.lists(pgaudit_lines(), min_size=1, max_size=4), audit_only=st.booleans())
def test_every_line_pgaudit_writes_is_encoded_in_c_as_the_reference_reads_it(lines, audit_only):
    assert_same([event(line) for line in lines], handed_over=0, audit_only=audit_only)


@settings(max_examples=2000, deadline=None)
@given(lines=st.lists(st.one_of(broken_lines(), st.text()), min_size=1, max_size=4), audit_only=st.booleans())
def test_any_other_line_gives_the_reference_record(lines, audit_only):
    events = [event(line) for line in lines]
    try:
        expected = reference(events, audit_only)
    except Exception as error:
        with pytest.raises(type(error)):
            native(events, audit_only)
        return
    assert native(events, audit_only)[0] == expected
