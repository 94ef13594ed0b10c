/*
 * Shared helpers of the player's scripts. The scripts are classic scripts inlined into the page head in the order
 * ui/player.py lists them; each adds its part to `window.lincaePlayerKit`, and player.js mounts the whole.
 */
(function (kit) {
  "use strict";

  /** A DOM element: attributes (`class`, `text`, `on<event>` listeners, others as attributes) and children. */
  kit.h = function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, val] of Object.entries(attrs || {})) {
      if (val === null || val === undefined || val === false) continue;
      if (key === "class") node.className = val;
      else if (key === "text") node.textContent = val;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), val);
      else node.setAttribute(key, val === true ? "" : String(val));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  };

  kit.formatTime = function formatTime(seconds) {
    const s = Math.max(0, seconds);
    const m = Math.floor(s / 60);
    return `${m}:${(s - 60 * m).toFixed(2).padStart(5, "0")}`;
  };

  /** The component's value: a JSON string (or an already parsed object); null when empty or unreadable. */
  kit.parseValue = function parseValue(value) {
    if (!value) return null;
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch (err) {
      return null;
    }
  };

  /** Form controls keep their own keys (Space toggles a checkbox, arrows move a slider or a caret). */
  kit.isFormControl = function isFormControl(node) {
    return Boolean(
      node && node.closest &&
        node.closest("input, textarea, select, button, a[href], [contenteditable=''], [contenteditable='true'], [role='slider'], [role='textbox'], [role='listbox'], [role='combobox']"),
    );
  };
})((window.lincaePlayerKit = window.lincaePlayerKit || {}));
