"""Debian's Chromium driven by Playwright, offline, and what the page checks read of a page.

Playwright drives the `chromium` on PATH (Debian's package, /usr/bin/chromium); nothing is
downloaded, ever (no `playwright install`): the flags below also keep Chromium itself from
calling home. A `Recorder` attached to a page keeps every console error, uncaught exception
and request the page makes, so a test can say "no errors" and "nothing left file://".
"""
import shutil
from dataclasses import dataclass, field

VIEWPORT = {"width": 1366, "height": 768}  # "the first screen": a common laptop
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]
MISSING = ("Chromium is not installed (Debian: apt-get install chromium); the pages are "
           "checked in a real browser only where it is")


def executable() -> str | None:
    """Debian's chromium, or None when it is not installed."""
    return shutil.which("chromium")


def launch(playwright):
    """Headless Chromium from PATH, with no network of its own."""
    return playwright.chromium.launch(executable_path=executable(), args=FLAGS)


@dataclass
class Recorder:
    """What a page did: console errors, uncaught exceptions, and every URL it requested."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self, page) -> "Recorder":
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        return self

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location})")

    def leaving(self, prefix: str) -> list[str]:
        """Requested URLs that do not start with `prefix` (data: URIs are not requests)."""
        return [url for url in self.requests if not url.startswith(prefix)]


def block_network(context) -> None:
    """Abort every http(s) and ws(s) request of the context: an offline page that reaches for
    the network then fails here as it would on a laptop on a train (the Recorder still
    sees the request)."""
    context.route("**/*", lambda route: route.abort("internetdisconnected")
                  if not route.request.url.startswith("file:") else route.continue_())


CHART_BOXES = """selector => [...document.querySelectorAll(selector)].map(element => {
  const box = element.getBoundingClientRect();
  const natural = element.tagName === "IMG" ? [element.naturalWidth, element.naturalHeight]
    : element.tagName === "CANVAS" ? [element.width, element.height] : [box.width, box.height];
  let colours = null;
  if (element.tagName === "IMG" && element.complete && element.naturalWidth) {
    const canvas = document.createElement("canvas");
    canvas.width = element.naturalWidth; canvas.height = element.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(element, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set();
    for (let i = 0; i < pixels.length && seen.size < 50; i += 4 * 97) {
      seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
    }
    colours = seen.size;
  }
  return {name: element.getAttribute("alt") || element.tagName.toLowerCase(),
          width: box.width, height: box.height, natural_width: natural[0],
          natural_height: natural[1], colours: colours};
})"""


def charts(page, selector: str = "img, canvas") -> list[dict]:
    """Each chart's drawn box, its own (decoded) size and, for an image, how many colours a
    sample of its pixels holds (1: a blank picture)."""
    return page.evaluate(CHART_BOXES, selector)


def undrawn(found: list[dict]) -> list[dict]:
    """The charts among `charts(page)` that a reader cannot see: no box, nothing decoded, or
    a picture of one colour."""
    return [c for c in found if not (c["width"] > 0 and c["height"] > 0 and c["natural_width"] > 0
                                     and c["natural_height"] > 0 and c["colours"] != 1)]


def below_the_fold(page, selectors: list[str]) -> list[str]:
    """The selectors whose element is not wholly inside the first screen at the top of the page
    (or is hidden, or missing)."""
    page.evaluate("window.scrollTo(0, 0)")
    height = page.viewport_size["height"]
    outside = []
    for selector in selectors:
        element = page.locator(selector).first
        box = element.bounding_box() if element.count() and element.is_visible() else None
        if box is None or box["y"] < 0 or box["y"] + box["height"] > height or not box["width"]:
            outside.append(selector)
    return outside
