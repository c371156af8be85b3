// Safe DOM building: every piece of data becomes a text node or a property,
// never markup. The data comes from the monitored world (tool descriptions,
// argv, summaries) and is hostile by assumption; nothing here parses HTML,
// and text shows its reordering and invisible characters (text.js).
import { visibleText } from "./text.js";

// h("div", {class: "x", onclick: fn, title: "t"}, "text", child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "href") el.setAttribute("href", safeHref(v));
      else if (k === "title") el.title = visibleText(v);
      else if (k in el && k !== "list") el[k] = v;
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

// Appends children the way h() does: nested arrays flattened, null and false left out.
export function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(visibleText(c)));
  }
}

// Only the console's own hash routes are links.
function safeHref(v) {
  const s = String(v);
  return s.startsWith("#/") ? s : "#/";
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// SVG elements (the data-flow arrows): attributes are numbers and fixed names.
const SVG = "http://www.w3.org/2000/svg";
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) {
    if (c instanceof Node) el.appendChild(c);
    else if (c !== undefined && c !== null) el.appendChild(document.createTextNode(visibleText(c)));
  }
  return el;
}
