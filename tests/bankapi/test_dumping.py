"""The compiled response dump (`bankapi.web.dumping.Out`) answers exactly what
marshmallow's own `Schema.dump` answers, for every response schema of the bank."""
import inspect
import json
from datetime import datetime
from types import SimpleNamespace

import marshmallow
import pytest
from marshmallow import fields

from bankapi.web import schemas
from bankapi.web.dumping import Out

RESPONSE_SCHEMAS = [cls for _, cls in inspect.getmembers(schemas, inspect.isclass)
                    if issubclass(cls, Out) and cls is not Out]
COMPILED = [cls for cls in RESPONSE_SCHEMAS if cls()._plan() is not None]
STAMP = datetime(2026, 11, 30, 9, 5, 7, 123456)


def sample(schema, variant: int) -> dict:
    """A row for `schema` whose values vary with `variant`: plain values, values of
    another type than the field's (an int for a String, an int for a Float), None."""
    row = {}
    for name, field in schema.dump_fields.items():
        row[field.attribute or name] = None if variant == 2 else value_for(field, variant)
    return row


def value_for(field, variant: int):
    if isinstance(field, fields.Nested):
        nested = [sample(field.schema, variant), sample(field.schema, 2)]
        return nested if field.many else nested[0]
    if isinstance(field, fields.List):
        return [value_for(field.inner, variant), None, value_for(field.inner, 1 - variant)]
    if isinstance(field, fields.DateTime):
        return STAMP
    if isinstance(field, fields.Boolean):
        return (True, 0)[variant]
    if isinstance(field, fields.Float):
        return (12.5, 7)[variant]
    if isinstance(field, fields.Integer):
        return (-250, 10**12)[variant]
    if isinstance(field, fields.String):
        return ("Café ☕", 42)[variant]
    raise AssertionError(f"no sample for {type(field).__name__}")


def as_object(row):
    """The same row as an object with attributes (an ORM object or a Core Row)."""
    if isinstance(row, dict):
        return SimpleNamespace(**{k: as_object(v) for k, v in row.items()})
    if isinstance(row, list):
        return [as_object(each) for each in row]
    return row


def marshmallow_dump(schema, obj, many=False):
    return marshmallow.Schema.dump(schema, obj, many=many)


def same(ours, theirs) -> bool:
    """Equal as JSON text: 0 and false, 7 and 7.0 differ there, though Python calls
    them equal."""
    return json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize("cls", COMPILED, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("variant", [0, 1, 2])
def test_dumps_what_marshmallow_dumps(cls, variant):
    schema = cls()
    row = sample(schema, variant)
    for obj in (row, as_object(row)):
        assert same(schema.dump(obj), marshmallow_dump(schema, obj))
        assert same(schema.dump([obj, obj], many=True), marshmallow_dump(schema, [obj, obj], True))


@pytest.mark.parametrize("cls", COMPILED, ids=lambda cls: cls.__name__)
def test_an_absent_attribute_leaves_its_key_out(cls):
    schema = cls()
    row = sample(schema, 0)
    row.pop(next(iter(row)))
    for obj in (row, as_object(row)):
        assert same(schema.dump(obj), marshmallow_dump(schema, obj))


def test_every_response_schema_but_the_audit_is_compiled():
    """Only AuditOut (a free-form Dict) is left to marshmallow; a new field type in an
    answer shows up here instead of silently costing the slow path."""
    slow = {cls.__name__ for cls in RESPONSE_SCHEMAS if cls()._plan() is None}
    assert slow == {"AuditOut"}


def test_options_of_an_instance_are_honoured():
    only = schemas.TransferOut(only=("id", "amount"))
    row = sample(schemas.TransferOut(), 0)
    assert only.dump(row) == marshmallow_dump(only, row) == {"id": "Café ☕", "amount": -250}
    assert schemas.TransferOut().dump(row)["currency"] == "Café ☕"  # the class plan is intact
