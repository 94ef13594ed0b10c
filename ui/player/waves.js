/*
 * The waveform view: the mix and the selected cell drawn from the server's peaks, a playhead, and click or drag
 * to seek (the position follows the pointer while dragging and is committed on release).
 */
(function (kit) {
  "use strict";

  const h = kit.h;

  /** Peaks are flat (min, max) pairs [min0, max0, min1, …]; returns [min, max] over column i of n. */
  function peakAt(peaks, i, n) {
    const pairs = Math.floor(peaks.length / 2);
    const a = Math.floor((i * pairs) / n);
    const b = Math.max(a + 1, Math.floor(((i + 1) * pairs) / n));
    let lo = 0;
    let hi = 0;
    for (let k = a; k < b && k < pairs; k++) {
      lo = Math.min(lo, peaks[2 * k]);
      hi = Math.max(hi, peaks[2 * k + 1]);
    }
    return [lo, hi];
  }

  class WaveformView {
    /** `hooks`: duration(), seek(seconds), scrubbed() while a drag moves the shown position. */
    constructor(hooks) {
      this.hooks = hooks;
      this.scrub = null; // position shown while dragging
      this.mixCanvas = h("canvas", { class: "lc-wave lc-wave-mix", "aria-label": "Mix waveform; click or drag to seek" });
      this.cellCanvas = h("canvas", {
        class: "lc-wave lc-wave-cell", "aria-label": "Selected cell waveform; click or drag to seek",
      });
      this.cellLabel = h("span", { class: "lc-wave-label", text: "No cell selected" });
      this.element = h(
        "div",
        { class: "lc-waves" },
        h("div", { class: "lc-wave-row" }, h("span", { class: "lc-wave-label", text: "Mix" }), this.mixCanvas),
        h("div", { class: "lc-wave-row" }, this.cellLabel, this.cellCanvas),
      );
      for (const canvas of [this.mixCanvas, this.cellCanvas]) this.bindSeek(canvas);
      this.mixPeaks = null;
      this.cellPeaks = null;
      this.fraction = 0;
      this.resizeObserver = new ResizeObserver(() => this.draw());
      this.resizeObserver.observe(this.element);
    }

    dispose() {
      this.resizeObserver.disconnect();
    }

    /** What to draw: the mix's and the selected cell's peaks, and the cell's name (null: none selected). */
    show(mixPeaks, cellPeaks, cellName) {
      this.mixPeaks = mixPeaks;
      this.cellPeaks = cellPeaks;
      this.cellLabel.textContent = cellName || "No cell selected";
      this.cellLabel.title = this.cellLabel.textContent;
    }

    bindSeek(canvas) {
      const at = (ev) => {
        const rect = canvas.getBoundingClientRect();
        return Math.min(1, Math.max(0, (ev.clientX - rect.left) / Math.max(1, rect.width))) * this.hooks.duration();
      };
      canvas.addEventListener("pointerdown", (ev) => {
        if (this.hooks.duration() <= 0) return;
        canvas.setPointerCapture(ev.pointerId);
        this.scrub = at(ev);
        this.hooks.scrubbed();
      });
      canvas.addEventListener("pointermove", (ev) => {
        if (this.scrub === null) return;
        this.scrub = at(ev);
        this.hooks.scrubbed();
      });
      canvas.addEventListener("pointerup", (ev) => {
        if (this.scrub === null) return;
        const target = at(ev);
        this.scrub = null;
        this.hooks.seek(target);
      });
      canvas.addEventListener("pointercancel", () => {
        this.scrub = null;
        this.hooks.scrubbed();
      });
    }

    /** Redraw with the playhead at `position` (seconds) of `duration`; the previous ones when omitted. */
    draw(position, duration) {
      if (position !== undefined) this.fraction = duration > 0 ? position / duration : 0;
      const style = getComputedStyle(this.element);
      const color = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
      const colors = {
        head: color("--lc-head", "#e53e3e"),
        played: color("--lc-played", "rgba(49,130,206,0.15)"),
      };
      this.drawWave(this.mixCanvas, this.mixPeaks, color("--lc-wave", "#888"), colors);
      this.drawWave(this.cellCanvas, this.cellPeaks, color("--lc-accent", "#3182ce"), colors);
    }

    drawWave(canvas, peaks, color, colors) {
      const ratio = window.devicePixelRatio || 1;
      const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
      const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      const g = canvas.getContext("2d");
      g.clearRect(0, 0, width, height);
      if (!peaks || !peaks.length) return;
      const frac = this.fraction;
      g.fillStyle = colors.played;
      g.fillRect(0, 0, frac * width, height);
      g.fillStyle = color;
      const mid = height / 2;
      const step = Math.max(1, Math.round(ratio));
      const n = Math.ceil(width / step);
      for (let i = 0; i < n; i++) {
        const [lo, hi] = peakAt(peaks, i, n);
        const top = mid - Math.min(1, hi) * mid;
        const bottom = mid - Math.max(-1, lo) * mid;
        g.fillRect(i * step, top, step, Math.max(1, bottom - top));
      }
      g.fillStyle = colors.head;
      g.fillRect(Math.min(width - 2 * ratio, frac * width), 0, 2 * ratio, height);
    }
  }

  kit.WaveformView = WaveformView;
})((window.lincaePlayerKit = window.lincaePlayerKit || {}));
