// What a hostile string may not do on the page: reorder itself
// (bidirectional overrides and isolates), hide characters (zero-width and
// other invisible format characters, Unicode tag characters that carry
// hidden instructions in tool descriptions) or hold control characters.
// Each such character is shown as a visible ⟦U+XXXX⟧ instead, so a name
// cannot display as another and nothing in a description is invisible.
// Newlines and tabs stay (arguments and schemas are shown as blocks); the
// zero-width joiner and emoji variation selector stay (they only join).
// Pure (tested by test/).
const HIDDEN = new RegExp(
  "[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u00ad\\u034f\\u061c" +
    "\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b\\u200c\\u200e\\u200f\\u2028-\\u202e" +
    "\\u2060-\\u206f\\u3164\\ufe00-\\ufe0e\\ufeff\\uffa0\\ufff0-\\ufffb" +
    "\\u{e0000}-\\u{e0fff}\\u{1d173}-\\u{1d17a}]",
  "gu");

export function visibleText(s) {
  return String(s).replace(HIDDEN, (c) =>
    `⟦U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}⟧`);
}
