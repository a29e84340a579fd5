"""Google's Protobuf implementation and Wattline's (Swift over protobuf-c) agree byte for byte.

Each fixture is a canonical message twice: `<name>.json` written by hand in Protobuf's JSON
mapping, and `<name>.bin` as encoded by the Swift wrappers (Tests/WattlineProtosTests checks the
Swift side). Here Google's implementation must decode the Swift bytes to the JSON's message and
encode the JSON's message to exactly the Swift bytes.
"""
import json

import pytest
from google.protobuf import json_format

from conftest import FIXTURES

FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))


def load(name, google_types):
    spec = json.loads((FIXTURES / f"{name}.json").read_text())
    cls = google_types[spec["type"]]
    expected = json_format.ParseDict(spec["message"], cls())
    swift_bytes = (FIXTURES / f"{name}.bin").read_bytes()
    return cls, expected, swift_bytes


def test_fixtures_exist():
    assert len(FIXTURE_NAMES) >= 10
    for name in FIXTURE_NAMES:
        assert (FIXTURES / f"{name}.bin").exists(), name


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_google_decodes_swift_bytes(name, google_types):
    cls, expected, swift_bytes = load(name, google_types)
    decoded = cls.FromString(swift_bytes)
    assert decoded == expected
    # Every byte mapped to a declared field: re-encoding reproduces the input exactly.
    assert decoded.SerializeToString(deterministic=True) == swift_bytes


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_google_encodes_swift_bytes(name, google_types):
    _, expected, swift_bytes = load(name, google_types)
    assert expected.SerializeToString(deterministic=True) == swift_bytes


def test_packed_columns_are_packed(google_types):
    """The telemetry batch's columns use packed encoding: one length-delimited field each."""
    _, expected, swift_bytes = load("telemetry_batch", google_types)
    samples = len(expected.values)
    # Field 5 (time deltas, sfixed32) and field 6 (values, double): tag, length, fixed-width payload.
    assert swift_bytes.count(bytes([0x2a, 4 * samples])) == 1
    assert swift_bytes.count(bytes([0x32, 8 * samples])) == 1
