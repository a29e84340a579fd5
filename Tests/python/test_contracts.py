"""The contracts in Protos/ follow the project's conventions (docs/contracts.md)."""
import subprocess

import pytest
from google.protobuf import descriptor_pb2

from conftest import PROTOS, proto_files

FD = descriptor_pb2.FieldDescriptorProto


@pytest.fixture(scope="module")
def file_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("descriptors") / "set.pb"
    subprocess.run(["protoc", f"--proto_path={PROTOS}", "--include_source_info",
                    f"--descriptor_set_out={out}", *proto_files()], check=True)
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def elements(f):
    """(path, what) for every element that must carry a comment."""
    for i, m in enumerate(f.message_type):
        yield from message_elements(m, [4, i], m.name)
    for i, e in enumerate(f.enum_type):
        yield from enum_elements(e, [5, i], e.name)
    for i, s in enumerate(f.service):
        yield [6, i], "service " + s.name
        for j, rpc in enumerate(s.method):
            yield [6, i, 2, j], "rpc %s.%s" % (s.name, rpc.name)


def message_elements(m, path, name):
    yield path, "message " + name
    for j, fld in enumerate(m.field):
        yield path + [2, j], "field %s.%s" % (name, fld.name)
    for j, o in enumerate(m.oneof_decl):
        yield path + [8, j], "oneof %s.%s" % (name, o.name)
    for j, n in enumerate(m.nested_type):
        yield from message_elements(n, path + [3, j], name + "." + n.name)
    for j, e in enumerate(m.enum_type):
        yield from enum_elements(e, path + [4, j], name + "." + e.name)


def enum_elements(e, path, name):
    yield path, "enum " + name
    for j, v in enumerate(e.value):
        yield path + [2, j], "enum value " + v.name


def test_every_element_is_documented(file_set):
    missing = []
    for f in file_set.file:
        comments = {tuple(loc.path): loc.leading_comments.strip() for loc in f.source_code_info.location}
        for path, what in elements(f):
            if not comments.get(tuple(path)):
                missing.append("%s: %s" % (f.name, what))
    assert not missing, "undocumented:\n" + "\n".join(missing)


def test_conventions(file_set):
    problems = []
    for f in file_set.file:
        area = f.name.split("/")[1]
        if f.syntax != "proto3":
            problems.append(f.name + ": not proto3")
        if f.package != "wattline.%s.v1" % area:
            problems.append("%s: package %s" % (f.name, f.package))
        for s in f.service:
            if not s.name.endswith("Service"):
                problems.append(s.name + ": service name must end in Service")
            for rpc in s.method:
                if rpc.input_type != ".%s.%sRequest" % (f.package, rpc.name):
                    problems.append("%s.%s: request must be %sRequest" % (s.name, rpc.name, rpc.name))
                if rpc.output_type != ".%s.%sResponse" % (f.package, rpc.name):
                    problems.append("%s.%s: response must be %sResponse" % (s.name, rpc.name, rpc.name))
        for e in all_enums(f):
            if not e.value or e.value[0].number != 0 or not e.value[0].name.endswith("_UNSPECIFIED"):
                problems.append("enum %s: first value must be *_UNSPECIFIED = 0" % e.name)
        for m in all_messages(f):
            numbers = [fld.number for fld in m.field]
            if len(numbers) != len(set(numbers)):
                problems.append("message %s: field number reused" % m.name)
            for fld in m.field:
                if fld.proto3_optional:
                    problems.append("%s.%s: proto3 optional (protoc-c 1.4 rejects it)" % (m.name, fld.name))
                integers = (FD.TYPE_INT64, FD.TYPE_UINT64, FD.TYPE_SINT64, FD.TYPE_UINT32, FD.TYPE_SFIXED32)
                if fld.name.endswith("_ms") and fld.type not in integers:
                    problems.append("%s.%s: *_ms fields are integer milliseconds" % (m.name, fld.name))
                if fld.name.endswith("_id") and fld.name != "channel_id" and fld.type == FD.TYPE_STRING:
                    problems.append("%s.%s: ids are UUID bytes or uint64, not strings" % (m.name, fld.name))
            if m.options.map_entry:
                problems.append("message %s: map fields are not supported" % m.name)
    assert not problems, "\n".join(problems)


def all_messages(f):
    stack = list(f.message_type)
    while stack:
        m = stack.pop()
        stack.extend(m.nested_type)
        yield m


def all_enums(f):
    yield from f.enum_type
    for m in all_messages(f):
        yield from m.enum_type


def test_every_area_is_present():
    areas = {p.split("/")[1] for p in proto_files()}
    assert {"rpc", "health", "ims", "tenancy", "telemetry", "consent", "privacy", "audit"} <= areas
