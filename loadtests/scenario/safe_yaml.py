"""Reading a scenario file's YAML within bounds, into plain data (text, numbers, booleans,
null, lists and mappings: what a run can use and a report can write).

A scenario file comes from anyone (a CI job, a pull request), so reading one must not
crash, hang or exhaust memory whatever it holds:

- at most MAX_BYTES bytes, refused before it is parsed;
- at most MAX_DEPTH levels of nested lists and mappings (PyYAML builds a document
  recursively: a few thousand levels would end in a RecursionError);
- at most MAX_VALUES values (keys, items, scalars) and MAX_CHARS characters of text with
  every alias written out: anchors and aliases are allowed (`<<: *defaults` is a fair way
  to share a rule's match), but a few hundred bytes of nested aliases ("billion laughs")
  otherwise expand to gigabytes when the run writes the scenario into its report, and each
  value costs validation time (the bound keeps the worst file to seconds);
- no key twice in one mapping (YAML would keep the last silently);
- only JSON's types: `!!binary`, `!!set`, `!!timestamp`, `!!omap` and `!!pairs` are
  refused, and a date-like value stays text, so nothing reaches the run (or report.json)
  that JSON cannot hold.

The depth and the expanded size are measured on PyYAML's event stream, which is read
iteratively, before any object is built.
"""
import re

import yaml
from yaml.constructor import ConstructorError

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_VALUES = 50_000
MAX_CHARS = 2_000_000

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REFUSED_TAGS = ("binary", "set", "timestamp", "omap", "pairs")
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"


class TooBig(ValueError):
    """The file is over one of the bounds above; the message says which and where."""


class ScenarioLoader(_BASE):
    """SafeLoader (libyaml's when installed) that builds only JSON's types, with YAML 1.2's
    booleans: only true and false are, so `{off: true}` is the key "off" (YAML 1.1 reads
    on, off, yes and no as booleans too) and `halt_on_alert: no` is refused, not false."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_TIMESTAMP, _BOOL)]
        for first, resolvers in _BASE.yaml_implicit_resolvers.items()}


    def construct_mapping(self, node, deep=False):
        """A key written twice in one mapping is refused: YAML would keep the last one
        silently, so a pasted second `guardrails:` would drop the first's stop conditions.
        Keys a merge (`<<: *defaults`) brings in may still be overridden, as YAML means."""
        seen = set()
        for key_node, _value in node.value if isinstance(node, yaml.MappingNode) else ():
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
                if key_node.value in seen:
                    raise ConstructorError("while reading a mapping", node.start_mark,
                                           f"the key {key_node.value!r} is written twice",
                                           key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


for _first in "tTfF":
    ScenarioLoader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))


def _refuse(loader, node):
    tag = node.tag.rsplit(":", 1)[-1]
    raise ConstructorError(None, None, f"!!{tag} is not allowed here: a scenario holds "
                           "text, numbers, true/false, null, lists and mappings",
                           node.start_mark)


for _tag in _REFUSED_TAGS:
    ScenarioLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse)


def load(raw: bytes):
    """The UTF-8 document in `raw` as plain data; TooBig, UnicodeDecodeError or
    yaml.YAMLError when it cannot be."""
    if len(raw) > MAX_BYTES:
        raise TooBig(f"the file is over {MAX_BYTES:,} bytes")
    text = raw.decode("utf-8")
    check_shape(text)
    return yaml.load(text, Loader=ScenarioLoader)  # noqa: S506 - a SafeLoader subclass


def check_shape(text: str) -> None:
    """Raise TooBig when the document nests deeper than MAX_DEPTH or, aliases written out,
    holds more than MAX_VALUES values or MAX_CHARS characters; yaml.YAMLError when it
    does not parse."""
    stack: list[list] = [[0, 0, 0, None]]  # per open collection: values, chars, height, anchor
    done: dict[str, tuple[int, int, int]] = {}  # anchor -> (values, chars, height)
    values = chars = 0
    for event in yaml.parse(text, Loader=ScenarioLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in done:
                if any(frame[3] == event.anchor for frame in stack):
                    raise TooBig(f"line {line}: alias *{event.anchor} inside its own anchor "
                                 "(a structure that contains itself)")
                continue  # an undefined alias: the loader reports it
            size = done[event.anchor]
            if len(stack) - 1 + size[2] > MAX_DEPTH:
                raise TooBig(f"line {line}: alias *{event.anchor} nests the document deeper "
                             f"than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.ScalarEvent):
            size = (1, len(event.value), 0)
            if event.anchor:
                done[event.anchor] = size
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([0, 0, 0, event.anchor])
            size = (1, 0, 0)
            if len(stack) - 1 > MAX_DEPTH:
                raise TooBig(f"line {line}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            frame = stack.pop()
            if frame[3]:
                done[frame[3]] = (frame[0] + 1, frame[1], frame[2] + 1)
            stack[-1][2] = max(stack[-1][2], frame[2] + 1)
            stack[-1][0] += frame[0] + 1
            stack[-1][1] += frame[1]
            continue
        else:
            continue
        if not isinstance(event, yaml.CollectionStartEvent):
            stack[-1][0] += size[0]
            stack[-1][1] += size[1]
            stack[-1][2] = max(stack[-1][2], size[2])
        values, chars = values + size[0], chars + size[1]
        if values > MAX_VALUES or chars > MAX_CHARS:
            raise TooBig(f"line {line}: over {MAX_VALUES:,} values or {MAX_CHARS:,} "
                         "characters of text, each alias counted as what it repeats (an alias "
                         "may share a part, not multiply the whole)")
