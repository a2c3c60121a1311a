"""Response schemas that dump fast: the same fields, the same JSON, far less CPU.

Every answer goes through marshmallow's `Schema.dump` (apiflask's `@output` calls it),
which pays several method calls per field per row: for a page of 20 notifications that
was about half of the request's CPU under load. `Out.dump` compiles each schema once
into a list of (key, accessor, converter) and dumps a row with one loop.

The schema stays the one declaration: `/openapi.json` is still made from its fields, and
the compiled dump is made from the same fields. It copies marshmallow's rules only for
the field types the bank's answers use (String, Integer, Float, Boolean, Nested, List,
and a field that says its `_serialize` looks at the value alone, as `schemas.Stamp`
does); a schema with any other field, a dump_default, a pre/post-dump hook or
only/exclude is dumped by marshmallow as before. `tests/bankapi/test_dumping.py` checks
that every response schema dumps exactly what marshmallow dumps.
"""
from collections.abc import Mapping

from apiflask import Schema
from marshmallow import fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP


class NotCompiled(Exception):
    """A field or schema option the compiled dump does not copy: marshmallow dumps it."""


class Out(Schema):
    """Base of the response schemas (see the module docstring)."""

    def dump(self, obj, *, many=None):
        many = self.many if many is None else bool(many)
        plan = self._plan()
        if plan is None:
            return super().dump(obj, many=many)
        if many:
            return None if obj is None else [_dump_one(plan, row) for row in obj]
        return _dump_one(plan, obj)

    def _plan(self):
        """This schema's compiled dump, or None when marshmallow must do it."""
        if self.only or self.exclude or self.load_only or self.dump_only:
            return _compile_or_none(self)  # options of this instance: not shared
        cls = type(self)
        if "_compiled" not in cls.__dict__:
            cls._compiled = _compile_or_none(self)
        return cls._compiled


def _dump_one(plan, obj) -> dict:
    out = {}
    is_mapping = isinstance(obj, Mapping)
    for key, attr, convert in plan:
        value = obj.get(attr, missing) if is_mapping else getattr(obj, attr, missing)
        if value is missing:
            continue  # as marshmallow: an absent attribute leaves the key out
        out[key] = None if value is None else convert(value)
    return out


def _compile_or_none(schema: Schema):
    try:
        return _compile(schema)
    except NotCompiled:
        return None


def _compile(schema: Schema) -> list:
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
        raise NotCompiled("dump hooks")
    plan = []
    for name, field in schema.dump_fields.items():
        if field.dump_default is not missing:
            raise NotCompiled(f"{name}: dump_default")
        key = field.data_key if field.data_key is not None else name
        if "." in (field.attribute or ""):
            raise NotCompiled(f"{name}: a dotted attribute")
        plan.append((key, field.attribute or name, _converter(field)))
    return plan


def _converter(field: fields.Field):
    """value (never None, never missing) -> what marshmallow's field would dump."""
    kind = type(field)
    if kind is fields.String:
        return lambda value: value if type(value) is str else field._serialize(value, None, None)
    if kind in (fields.Integer, fields.Float) and not field.as_string:
        exact = field.num_type
        return lambda value: value if type(value) is exact else exact(value)
    if kind is fields.Boolean:
        return _same  # marshmallow's Boolean dumps the value as it is
    if getattr(kind, "dumps_the_value_alone", False):  # e.g. schemas.Stamp
        return lambda value: field._serialize(value, None, None)
    if kind is fields.Nested and isinstance(field.schema, Out):
        nested, many = field.schema, field.many
        return lambda value: nested.dump(value, many=many)
    if kind is fields.List:
        inner = _converter(field.inner)
        return lambda value: [None if each is None else inner(each) for each in value]
    raise NotCompiled(f"{field.name}: {kind.__name__}")


def _same(value):
    return value
