"""The browser checks themselves catch what they are for: a page that logs an error, reaches
for the network, shows a broken or blank chart or pushes its verdict below the fold."""
import base64
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tests.browser.chromium import below_the_fold, block_network, charts, undrawn


def png(colour: str = "white", draw: bool = False) -> str:
    figure = Figure(figsize=(2, 1))
    FigureCanvasAgg(figure)
    figure.patch.set_facecolor(colour)
    if draw:
        figure.add_subplot().plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=colour)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def test_the_checks_catch_a_broken_page(tmp_path, context, page):
    path = tmp_path / "broken.html"
    path.write_text(f"""<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<h1>title</h1><div style="height: 2000px"></div><p class="headline">far down</p>
<img alt="drawn" src="{png(draw=True)}"><img alt="blank" src="{png()}">
<img alt="broken" src="data:image/png;base64,AAAA"><img alt="hidden" style="display: none"
 src="{png(draw=True)}"><img alt="remote" src="http://192.0.2.1/chart.png">
<script>console.error("the page broke");</script></body></html>""", encoding="utf-8")
    block_network(context)
    page.goto(path.as_uri(), wait_until="load")
    assert [c["name"] for c in undrawn(charts(page))] == ["blank", "broken", "hidden", "remote"]
    assert below_the_fold(page, ["h1", ".headline", ".missing"]) == [".headline", ".missing"]
    assert any("the page broke" in error for error in page.recorder.errors)
    assert page.recorder.leaving("file://") == ["http://192.0.2.1/chart.png"]
