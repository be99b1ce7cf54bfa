"""Write static/css/plotly.css: the rules plotly.js injects, captured from a headless Chromium.

The page CSP refuses injected <style> elements, so base.html pre-creates the element ids plotly.js
looks for (it then injects nothing) and links this stylesheet instead. Run after changing the bundle:

    .venv/bin/python scripts/extract_plotly_css.py [path/to/plotly.min.js]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / "var" / "staticfiles" / "plotly" / "plotly.min.js"

bundle = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_BUNDLE
with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox","--headless"])
    pg = b.new_page()
    pg.set_content("<html><head></head><body><div id=g></div></body></html>")
    pg.add_script_tag(path=str(bundle))
    pg.evaluate("Plotly.newPlot('g',[{x:[1,2],y:[1,2]}],{}, {responsive:true})")
    css = pg.evaluate("Array.from(document.getElementById('plotly.js-style-global').sheet.cssRules).reverse().map(r=>r.cssText).join('\\n')")

    open(ROOT / "static" / "css" / "plotly.css","w").write("/* plotly.js's own rules (modebar, hover labels, notifier), as it would inject them: a stylesheet\n   instead, because the Content-Security-Policy refuses injected <style> elements. Regenerate after\n   upgrading plotly.js: scripts/extract_plotly_css.py. */\n" + css + "\n")
    b.close()
