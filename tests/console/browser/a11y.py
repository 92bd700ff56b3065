"""An accessibility check of a page as the real browser renders it.

``violations(page)`` lists what is wrong, one line each (empty: none found):

* names: every control (textbox, button, link, checkbox, select...) and every image has an
  accessible name, as Chromium's own accessibility tree computes it (Chrome DevTools
  Protocol ``Accessibility.getFullAXTree``), so ``<label for>``, ``aria-label``,
  ``aria-labelledby``, ``alt`` and text content all count, exactly as a screen reader sees;
* images: every ``<img>`` has an ``alt`` attribute (``alt=""`` marks a decorative one);
* structure: ``<html lang>``, a ``<title>``, exactly one ``<h1>``, exactly one ``main``
  landmark, every ``<nav>`` beyond the first named, ids unique, and every id that
  ``aria-labelledby``/``aria-describedby``/``aria-controls``/``<label for>`` names exists;
* keyboard: pressing Tab from the top visits every focusable control, each once, in
  document order (no positive ``tabindex``), and never gets stuck; an element given a
  widget role (``<div role=button>``) can take focus.

Deliberately small: what the console's pages need, checked in the browser they run in.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

__all__ = ["violations"]

# Roles whose nodes must carry a name for a screen reader to announce them usefully.
_NAMED_ROLES = {
    "button",
    "checkbox",
    "combobox",
    "image",
    "img",
    "link",
    "listbox",
    "menuitem",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "tab",
    "textbox",
}

_STRUCTURE_JS = """
() => {
  const out = [];
  const lang = document.documentElement.getAttribute("lang");
  if (!lang || !lang.trim()) out.push("structure: <html> has no lang attribute");
  if (!document.title.trim()) out.push("structure: the page has no <title>");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) out.push(`structure: ${h1} <h1> elements (exactly one expected)`);
  const mains = document.querySelectorAll("main, [role=main]").length;
  if (mains !== 1) out.push(`structure: ${mains} main landmarks (exactly one expected)`);
  const navs = [...document.querySelectorAll("nav, [role=navigation]")];
  if (navs.length > 1)
    for (const n of navs)
      if (!n.getAttribute("aria-label") && !n.getAttribute("aria-labelledby"))
        out.push("structure: a <nav> among several has no aria-label");
  const ids = new Map();
  for (const el of document.querySelectorAll("[id]")) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, n] of ids) if (n > 1) out.push(`structure: id "${id}" is used ${n} times`);
  for (const attr of ["aria-labelledby", "aria-describedby", "aria-controls"])
    for (const el of document.querySelectorAll(`[${attr}]`))
      for (const ref of el.getAttribute(attr).split(/\\s+/).filter(Boolean))
        if (!document.getElementById(ref))
          out.push(`structure: ${attr}="${ref}" names no element`);
  for (const label of document.querySelectorAll("label[for]"))
    if (!document.getElementById(label.htmlFor))
      out.push(`structure: <label for="${label.htmlFor}"> names no element`);
  for (const img of document.querySelectorAll("img:not([alt])"))
    out.push(`images: <img src="${img.getAttribute("src")}"> has no alt attribute`);
  return out;
}
"""

# Marks every element Tab should reach (visible, enabled, tabindex not negative) with its
# position in document order; returns how many, and flags positive tabindex values.
_FOCUSABLE_JS = """
() => {
  const sel = "a[href], button, input:not([type=hidden]), select, textarea, iframe, " +
    "summary, [tabindex], [contenteditable=true]";
  const seenRadio = new Set();
  let n = 0;
  const positive = [];
  for (const el of document.querySelectorAll(sel)) {
    el.removeAttribute("data-a11y-order");
    if (el.disabled || el.closest("[inert]")) continue;
    const ti = el.getAttribute("tabindex");
    if (ti !== null && Number(ti) < 0) continue;
    if (ti !== null && Number(ti) > 0) positive.push(el.outerHTML.slice(0, 80));
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    if (el.type === "radio") {
      if (seenRadio.has(el.name)) continue;  // a radio group is one Tab stop
      seenRadio.add(el.name);
    }
    el.setAttribute("data-a11y-order", String(n++));
  }
  // A widget made of a <div role=...> must be focusable, or the keyboard never reaches it.
  const native = "a[href], button, input, select, textarea, summary, iframe";
  const unreachable = [];
  for (const el of document.querySelectorAll(
      "[role=button], [role=link], [role=checkbox], [role=radio], [role=tab], " +
      "[role=switch], [role=menuitem], [role=textbox], [role=combobox], [role=slider]"))
    if (!el.matches(native) && !el.hasAttribute("tabindex") && !el.isContentEditable)
      unreachable.push(el.getAttribute("role"));
  return {count: n, positive, unreachable};
}
"""

_START_JS = """
() => {
  const start = document.createElement("span");
  start.id = "a11y-start";
  start.tabIndex = -1;
  document.body.prepend(start);
  start.focus();
}
"""

_ACTIVE_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return {order: el.getAttribute("data-a11y-order"), html: el.outerHTML.slice(0, 80)};
}
"""


def _name_violations(page: Page) -> list[str]:
    cdp = page.context.new_cdp_session(page)
    try:
        tree: dict[str, Any] = cdp.send("Accessibility.getFullAXTree")
        out = []
        for node in tree["nodes"]:
            if node.get("ignored"):
                continue
            role = (node.get("role") or {}).get("value", "")
            name = str((node.get("name") or {}).get("value", "")).strip()
            if role in _NAMED_ROLES and not name:
                what = _element(cdp, node.get("backendDOMNodeId"))
                out.append(f"names: a {role} has no accessible name: {what}")
        return out
    finally:
        cdp.detach()


def _element(cdp: Any, backend_id: int | None) -> str:
    # The element's tag and attributes, so the message says which control it is.
    if backend_id is None:
        return "(no DOM node)"
    node = cdp.send("DOM.describeNode", {"backendNodeId": backend_id})["node"]
    attrs = node.get("attributes", [])
    pairs = " ".join(f'{k}="{v}"' for k, v in zip(attrs[::2], attrs[1::2], strict=True))
    return f"<{node['localName']} {pairs}>".replace(" >", ">")


def _keyboard_violations(page: Page) -> list[str]:
    marked = page.evaluate(_FOCUSABLE_JS)
    out = [f"keyboard: positive tabindex breaks the order: {h}" for h in marked["positive"]]
    out += [f"keyboard: a role={r} element cannot take focus" for r in marked["unreachable"]]
    count: int = marked["count"]
    # Start from the top of the document, as a keyboard user arriving on the page: focus a
    # sentinel put first in <body> (programmatic focus moves where Tab continues from).
    page.evaluate(_START_JS)
    reached: list[int] = []
    try:
        for _ in range(count):
            page.keyboard.press("Tab")
            active = page.evaluate(_ACTIVE_JS)
            if active is None or active["order"] is None:
                what = "the page body" if active is None else active["html"]
                out.append(f"keyboard: Tab {len(reached) + 1} reached {what}, not a control")
                break
            reached.append(int(active["order"]))
    finally:
        page.evaluate("() => document.getElementById('a11y-start')?.remove()")
    expected = list(range(count))
    if not out and reached != expected:
        out.append(f"keyboard: Tab visited controls in order {reached}, expected {expected}")
    return out


def violations(page: Page) -> list[str]:
    """Every accessibility problem found on ``page`` as it is now (empty list: none)."""
    found: list[str] = list(page.evaluate(_STRUCTURE_JS))
    found += _name_violations(page)
    found += _keyboard_violations(page)
    return found
