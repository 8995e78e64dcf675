// Accessibility checks run in the page by browser_a11y_test.go. It returns
// a JSON list of violations, each {rule, where, what}. The rules:
//   lang       <html> has a lang attribute
//   h1         exactly one visible h1
//   label      every visible form control has an accessible name
//   alt        every img has an alt attribute
//   name       every visible link, button and summary has an accessible name
//   tabindex   no positive tabindex
//   id         no duplicate ids (labels and descriptions point at ids)
//   contrast   text meets WCAG AA against its computed background
(() => {
  const out = [];
  const where = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.getAttribute("name")) s += "[name=" + el.getAttribute("name") + "]";
    else if (el.className && typeof el.className === "string") s += "." + el.className.trim().split(/\s+/).join(".");
    const t = (el.innerText || el.value || "").trim().slice(0, 40);
    return t ? s + " “" + t + "”" : s;
  };
  const add = (rule, el, what) => out.push({ rule, where: el ? where(el) : "", what });
  const visible = (el) => el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true });
  const clipped = (el) => {
    const r = el.getBoundingClientRect();
    return r.width <= 1 && r.height <= 1;
  };
  const byIds = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean)
    .map((e) => (e.textContent || "").trim()).join(" ").trim();
  const accName = (el) => {
    const lb = el.getAttribute("aria-labelledby");
    if (lb && byIds(lb)) return byIds(lb);
    const al = (el.getAttribute("aria-label") || "").trim();
    if (al) return al;
    if (el.labels && el.labels.length) {
      const t = Array.from(el.labels).map((l) => l.textContent.trim()).join(" ").trim();
      if (t) return t;
    }
    const tag = el.tagName;
    if (tag === "INPUT" && ["submit", "button", "reset"].includes(el.type)) return (el.value || "").trim();
    if (tag === "A" || tag === "BUTTON" || tag === "SUMMARY") {
      let t = (el.textContent || "").trim();
      if (!t) t = Array.from(el.querySelectorAll("img[alt]")).map((i) => i.alt.trim()).join(" ").trim();
      if (t) return t;
    }
    return (el.getAttribute("title") || "").trim();
  };

  if (!(document.documentElement.getAttribute("lang") || "").trim()) add("lang", document.documentElement, "the page has no lang attribute");

  const h1s = Array.from(document.querySelectorAll("h1")).filter(visible);
  if (h1s.length !== 1) add("h1", null, h1s.length + " visible h1 elements, want 1");

  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !visible(el)) continue;
    if (!accName(el)) add("label", el, "form control without a label or accessible name");
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) add("alt", img, "image without alt");
  }
  for (const el of document.querySelectorAll("a[href], button, summary, [role=button]")) {
    if (!visible(el)) continue;
    if (!accName(el)) add("name", el, "link or button without a name");
  }
  for (const el of document.querySelectorAll("[tabindex]")) {
    if (parseInt(el.getAttribute("tabindex"), 10) > 0) add("tabindex", el, "positive tabindex " + el.getAttribute("tabindex"));
  }
  const seen = {};
  for (const el of document.querySelectorAll("[id]")) {
    if (seen[el.id]) add("id", el, "duplicate id " + el.id);
    seen[el.id] = true;
  }

  // Contrast. Colours are rgba arrays; backgrounds are composed from the
  // element up, and a gradient counts as its worst stop.
  const parse = (s) => {
    const m = s.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  // backgrounds returns the candidate opaque backgrounds behind el.
  const backgrounds = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      const img = cs.backgroundImage;
      if (img && img.includes("gradient")) {
        const stops = (img.match(/rgba?\([^)]+\)/g) || []).map(parse);
        if (stops.length) { layers.push({ stops }); break; }
      }
      const c = parse(cs.backgroundColor);
      if (c && c[3] > 0) {
        layers.push({ color: c });
        if (c[3] >= 1) break;
      }
    }
    let bases = [[255, 255, 255, 1]];
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i];
      if (l.stops) bases = l.stops.flatMap((s) => bases.map((b) => over(s, b)));
      else bases = bases.map((b) => over(l.color, b));
    }
    return bases;
  };
  const checked = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!el || checked.has(el)) continue;
    checked.add(el);
    if (!visible(el) || clipped(el) || el.closest("[disabled], :disabled, option, script, style, noscript")) continue;
    const cs = getComputedStyle(el);
    if (parseFloat(cs.opacity) === 0) continue;
    const fg = parse(cs.color);
    if (!fg) continue;
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    for (const bg of backgrounds(el)) {
      const r = ratio(over(fg, bg), bg);
      if (r < need) {
        add("contrast", el, "contrast " + r.toFixed(2) + " (want " + need + "): " + cs.color + " on rgb(" + bg.slice(0, 3).map(Math.round).join(",") + ")");
        break;
      }
    }
  }
  return JSON.stringify(out);
})()
