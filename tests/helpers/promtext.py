"""Reading Prometheus' text format in tests (a plain module, importable by any test)."""


def sample(text: str, name: str, **labels) -> float:
    """The summed value of the samples called `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.split("{")[0].split(" ")[0] == name and all(f'{k}="{v}"' in line
                                                            for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
