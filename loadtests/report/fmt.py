"""How the report writes numbers for people: times rounded to what a reader can use, rates
as percentages that never round a failure away. report.json keeps the exact values."""


def secs(value: float | None) -> str:
    """Seconds without the unit: whole seconds from 10 s up, one decimal below (179.594 ->
    "180", 2.5 -> "2.5", 3.0 -> "3"); "–" for unknown."""
    if value is None:
        return "–"
    text = f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def seconds(value: float | None) -> str:
    """`secs` with the unit: "45 s"."""
    return "–" if value is None else f"{secs(value)} s"


def milliseconds(value: float | None) -> str:
    """A duration given in ms: "13 ms" below a second, `seconds` from there ("3.9 s")."""
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value < 1000 else seconds(value / 1000)


def span(start_s: float, end_s: float) -> str:
    """A time range: "45–108 s"."""
    return f"{secs(start_s)}–{secs(end_s)} s"


def percent(rate: float | None) -> str:
    """A rate (0..1) in percent with one decimal: 0.898 -> "89.8 %". Only a perfect 1.0
    reads "100 %": 0.9996 reads "99.9 %", so one failure in thousands stays visible."""
    if rate is None:
        return "–"
    if rate >= 1:
        return "100 %"
    return f"{min(rate * 100, 99.9):.1f} %"
