/*
 * The lincae comparison player: one table of cells (rows = latent operations, columns = models),
 * every cell decoded into an AudioBuffer up front and played through a single Web Audio graph, so
 * switching cell keeps the playback position to the sample.
 *
 * Loaded as a classic script; mounting is done by the gr.HTML component's js_on_load:
 *     window.lincaeMountPlayer(element, props, watch, {name, links})
 * Several players can share a page (the demo table, the latent mixer): `window.lincaePlayers[name]`; only one
 * of them sounds at a time, and the keys drive the one last played or clicked. A value may carry
 * `select: {row, model}` (a deep link): that cell is selected, not played (browsers block autoplay), so one
 * click or Space plays it. With `links`, a "Copy link" button copies a URL that opens the page on the cell.
 *
 * Scripting surface (for presenters and tests), on the table's player (`window.lincaePlayer`):
 *     window.lincaePlayer.state()   -> {playing, row, model, position, sync, loop}
 *     window.lincaePlayer.loaded()  -> {decoded, total}
 *     window.lincaePlayer.play(row, model), .toggle(), .pause(), .stop(), .seek(seconds)
 *     window.lincaePlayer.setSync(bool), .setLoop(bool), .setVolume(0..1), .setLimiter(bool)
 *     window.lincaePlayer.link()    -> URL of the selected cell (?track=…&model=…&row=…), or null
 *     window.lincaePlayer.analyser  (AnalyserNode after the master output; null before the first play)
 * Every cell element carries data-row and data-model.
 */
(function () {
  "use strict";

  const FADE = 0.006; // crossfade length (s): inaudible as a gap, long enough to avoid a click
  const LEAD = 0.02; // schedule changes slightly ahead so both voices share one exact start time
  const SEEK_STEP = 1; // seconds per arrow key (Shift: 5×)
  const DECODE_CONCURRENCY = 4;
  const DEFAULT_RATE = 44100;
  const CEILING = Math.pow(10, -1 / 20); // −1 dBFS: with the limiter on, no output sample goes above it
  const KNEE = 0.75; // below this the limiter is transparent; above it peaks bend smoothly towards the ceiling
  const LIMITER_HELP =
    "On: nothing louder than −1 dBFS reaches the speakers, whatever the cell or volume; cells louder than that " +
    "play with their peak at −1 dBFS. Turning it off is your choice: cells then play at their true level, " +
    "which can be painfully loud.";
  const CURVE_POINTS = 8193; // odd, so 0 maps to a curve point; identity below the knee is exact

  /**
   * The limiter's transfer curve (a WaveShaper): identity up to KNEE, then a tanh knee that approaches CEILING
   * and never reaches it. Inputs beyond ±1 take the curve's end values, so nothing can pass the ceiling, not even
   * two loud voices overlapping in a crossfade.
   */
  function limiterCurve() {
    const curve = new Float32Array(CURVE_POINTS);
    const room = CEILING - KNEE;
    for (let i = 0; i < CURVE_POINTS; i++) {
      const x = (2 * i) / (CURVE_POINTS - 1) - 1;
      const a = Math.abs(x);
      curve[i] = a <= KNEE ? x : Math.sign(x) * (KNEE + room * Math.tanh((a - KNEE) / room));
    }
    return curve;
  }

  function h(tag, attrs, ...children) {
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
  }

  function formatTime(seconds) {
    const s = Math.max(0, seconds);
    const m = Math.floor(s / 60);
    return `${m}:${(s - 60 * m).toFixed(2).padStart(5, "0")}`;
  }

  const players = (window.lincaePlayers = window.lincaePlayers || {});
  let keyboardOwner = null; // the player last played or clicked

  function shown(player) {
    return player.root.isConnected && player.root.getClientRects().length > 0;
  }

  function keyboardPlayer() {
    if (keyboardOwner && shown(keyboardOwner)) return keyboardOwner;
    return Object.values(players).find(shown) || null;
  }

  function parseValue(value) {
    if (!value) return null;
    if (typeof value === "string") {
      try {
        return JSON.parse(value);
      } catch (err) {
        return null;
      }
    }
    return value;
  }

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

  class Player {
    constructor(root, options) {
      this.root = root;
      this.options = options || {};
      this.data = null;
      this.buffers = new Map(); // url -> AudioBuffer
      this.pending = new Map(); // url -> Promise<AudioBuffer>
      this.queue = [];
      this.active = 0;
      this.decodeErrors = 0;
      this.decoder = null;
      this.ctx = null;
      this.master = null;
      this.limiter = null;
      this.analyser = null;
      this.voice = null; // {source, gain, url}
      this.playing = false;
      this.row = null;
      this.model = null;
      this.sync = true;
      this.loop = true;
      this.volume = 0.8;
      this.limiterOn = true;
      this.anchorTime = 0; // while playing: position(t) = anchorPos + (t - anchorTime)
      this.anchorPos = 0;
      this.pausedPos = 0;
      this.scrub = null; // position shown while dragging on a waveform
      this.request = 0; // increments per user action, so a late decode cannot undo a newer click
      this.frame = null;
      this.onKey = this.onKey.bind(this);
      this.onMediaPlay = this.onMediaPlay.bind(this);
      document.addEventListener("keydown", this.onKey);
      document.addEventListener("play", this.onMediaPlay, true);
      this.buildShell();
      this.root.addEventListener("pointerdown", () => (keyboardOwner = this));
      this.resizeObserver = new ResizeObserver(() => this.drawWaves());
      this.resizeObserver.observe(this.waves);
    }

    dispose() {
      this.stop();
      if (keyboardOwner === this) keyboardOwner = null;
      document.removeEventListener("keydown", this.onKey);
      document.removeEventListener("play", this.onMediaPlay, true);
      this.resizeObserver.disconnect();
      if (this.ctx) this.ctx.close();
    }

    // ---------------------------------------------------------------- DOM

    buildShell() {
      this.root.replaceChildren();
      this.root.classList.add("lincae-player");
      this.warning = h("p", {
        class: "lc-warning",
        role: "note",
        text:
          "Warning: some baselines can produce very loud noise. Start with a low volume; " +
          "the safety limiter (on by default) keeps every sound below −1 dBFS.",
      });
      this.syncBox = h("input", { type: "checkbox", checked: true, class: "lc-sync" });
      this.syncBox.addEventListener("change", () => this.setSync(this.syncBox.checked));
      this.loopBox = h("input", { type: "checkbox", checked: true, class: "lc-loop" });
      this.loopBox.addEventListener("change", () => this.setLoop(this.loopBox.checked));
      this.limiterBox = h("input", { type: "checkbox", checked: true, class: "lc-limiter" });
      this.limiterBox.addEventListener("change", () => this.setLimiter(this.limiterBox.checked));
      this.volumeInput = h("input", {
        type: "range", min: 0, max: 1, step: 0.01, value: this.volume, class: "lc-volume",
        "aria-label": "Volume",
      });
      this.volumeInput.addEventListener("input", () => this.setVolume(Number(this.volumeInput.value)));
      this.stopButton = h("button", {
        type: "button", class: "lc-stop", text: "Stop All", title: "Stop and rewind (S)",
      });
      this.stopButton.addEventListener("click", () => this.stop());
      this.linkButton = this.options.links
        ? h("button", { type: "button", class: "lc-copy-link", text: "Copy link", title: "Copy a link that opens this page on the selected cell" })
        : null;
      if (this.linkButton) this.linkButton.addEventListener("click", () => this.copyLink());
      this.downloadLink = h("a", { class: "lc-download", text: "Download WAV", "aria-disabled": "true" });
      this.downloadLink.addEventListener("click", (ev) => {
        ev.preventDefault();
        this.download();
      });
      this.timeLabel = h("span", { class: "lc-time", "aria-live": "off", text: "0:00.00 / 0:00.00" });
      this.status = h("span", { class: "lc-status", "aria-live": "polite" });
      const controls = h(
        "div",
        { class: "lc-controls" },
        h("label", { title: "Switching cell keeps the playback position" }, this.syncBox, " Sync Playback"),
        h("label", { title: "Loop the clip without a gap" }, this.loopBox, " Loop"),
        h("label", { title: LIMITER_HELP }, this.limiterBox, " Safety limiter"),
        h("label", { class: "lc-volume-label" }, "Volume ", this.volumeInput),
        this.stopButton,
        this.linkButton,
        this.downloadLink,
        this.timeLabel,
        this.status,
      );
      this.mixCanvas = h("canvas", { class: "lc-wave lc-wave-mix", "aria-label": "Mix waveform; click or drag to seek" });
      this.cellCanvas = h("canvas", { class: "lc-wave lc-wave-cell", "aria-label": "Playing cell waveform; click or drag to seek" });
      this.cellWaveLabel = h("span", { class: "lc-wave-label", text: "No cell selected" });
      this.waves = h(
        "div",
        { class: "lc-waves" },
        h("div", { class: "lc-wave-row" }, h("span", { class: "lc-wave-label", text: "Mix" }), this.mixCanvas),
        h("div", { class: "lc-wave-row" }, this.cellWaveLabel, this.cellCanvas),
      );
      for (const canvas of [this.mixCanvas, this.cellCanvas]) this.bindSeek(canvas);
      this.tableWrap = h("div", { class: "lc-table-wrap" });
      this.help = h("p", {
        class: "lc-help",
        text: "Click a cell to play, again to pause. Keys: Space play/pause · ←/→ seek · ↑/↓ row · 1–9 model · S stop.",
      });
      this.root.append(this.warning, controls, this.waves, this.tableWrap, this.help);
    }

    bindSeek(canvas) {
      const fraction = (ev) => {
        const rect = canvas.getBoundingClientRect();
        return Math.min(1, Math.max(0, (ev.clientX - rect.left) / Math.max(1, rect.width)));
      };
      canvas.addEventListener("pointerdown", (ev) => {
        if (!this.data) return;
        canvas.setPointerCapture(ev.pointerId);
        this.scrub = fraction(ev) * this.duration();
        this.drawWaves();
        this.updateTime();
      });
      canvas.addEventListener("pointermove", (ev) => {
        if (this.scrub === null) return;
        this.scrub = fraction(ev) * this.duration();
        this.drawWaves();
        this.updateTime();
      });
      const commit = (ev) => {
        if (this.scrub === null) return;
        const target = fraction(ev) * this.duration();
        this.scrub = null;
        this.seek(target);
      };
      canvas.addEventListener("pointerup", commit);
      canvas.addEventListener("pointercancel", () => {
        this.scrub = null;
        this.drawWaves();
      });
    }

    renderTable() {
      const data = this.data;
      if (!data) {
        this.tableWrap.replaceChildren(h("p", { class: "lc-empty", text: "No track loaded." }));
        return;
      }
      const head = h("tr", {}, h("th", { scope: "col", class: "lc-op", text: "Operation" }));
      data.models.forEach((m, i) => {
        const th = h(
          "th",
          {
            scope: "col",
            class: `lc-model${m.linear ? " lc-linear" : ""}${m.available ? "" : " lc-unavailable"}`,
            "data-model": m.name,
            title: m.available ? m.description || m.display_name : `Not available: ${m.reason}`,
          },
          h("span", { class: "lc-model-name", text: m.display_name }),
        );
        if (m.linear) th.append(h("span", { class: "lc-badge", text: "ours", title: "trained for a linear latent space" }));
        if (m.embedded) th.append(h("span", { class: "lc-badge lc-embedded", text: "embedded", title: "small model bundled with this app" }));
        if (i < 9) th.append(h("kbd", { text: String(i + 1), title: `Key ${i + 1}` }));
        head.append(th);
      });
      const body = h("tbody");
      for (const row of data.rows) {
        const tr = h(
          "tr",
          { "data-row": row.id, class: row.reference ? "lc-reference" : "" },
          h(
            "th",
            { scope: "row", class: "lc-op", title: row.formula },
            h("span", { class: "lc-row-label", text: row.label }),
            h("span", { class: "lc-formula", text: row.formula }),
          ),
        );
        for (const m of data.models) tr.append(this.renderCell(row, m));
        body.append(tr);
      }
      const table = h("table", { class: "lc-table" }, h("thead", {}, head), body);
      this.tableWrap.replaceChildren(table);
      this.refreshCells();
    }

    renderCell(row, model) {
      const attrs = { class: "lc-cell", "data-row": row.id, "data-model": model.name };
      if (!model.available) {
        return h("td", { ...attrs, class: "lc-cell lc-na", "aria-disabled": "true", title: model.reason || "not available" }, "N/A");
      }
      const url = this.urlFor(row.id, model.name);
      if (!url) {
        return h("td", { ...attrs, class: "lc-cell lc-pending", "aria-busy": "true", title: "computing…" }, "…");
      }
      const td = h("td", {
        ...attrs,
        role: "button",
        tabindex: 0,
        "aria-pressed": "false",
        "aria-label": `${row.label}, ${model.display_name}`,
        title: row.reference ? `${row.label} (original audio)` : `${row.label} — ${model.display_name}`,
      });
      td.append(h("span", { class: "lc-icon", "aria-hidden": "true" }));
      if (row.reference) td.append(h("span", { class: "lc-cell-note", text: "original" }));
      td.addEventListener("click", () => this.onCellClick(row.id, model.name));
      td.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") {
          ev.preventDefault();
          this.onCellClick(row.id, model.name);
        }
      });
      return td;
    }

    refreshCells() {
      for (const td of this.tableWrap.querySelectorAll("td.lc-cell")) {
        const selected = td.dataset.row === this.row && td.dataset.model === this.model;
        td.classList.toggle("lc-selected", selected);
        td.classList.toggle("lc-playing", selected && this.playing);
        if (td.getAttribute("role") === "button") {
          td.setAttribute("aria-pressed", String(selected && this.playing));
          const url = this.urlFor(td.dataset.row, td.dataset.model);
          td.classList.toggle("lc-loading", !this.buffers.has(url));
        }
      }
      for (const th of this.tableWrap.querySelectorAll("th.lc-model")) {
        th.classList.toggle("lc-selected", th.dataset.model === this.model);
      }
      for (const tr of this.tableWrap.querySelectorAll("tbody tr")) {
        tr.classList.toggle("lc-selected", tr.dataset.row === this.row);
      }
      const row = this.data && this.data.rows.find((r) => r.id === this.row);
      const model = this.data && this.data.models.find((m) => m.name === this.model);
      this.cellWaveLabel.textContent = row && model ? `${row.label} · ${model.display_name}` : "No cell selected";
      this.cellWaveLabel.title = this.cellWaveLabel.textContent;
      if (this.linkButton) this.linkButton.disabled = !(row && model);
      this.updateDownload(row, model);
    }

    /** "Download WAV" fetches the selected cell's file, named after track, row and model. */
    updateDownload(row, model) {
      const link = this.downloadLink;
      const url = row && model ? this.urlFor(row.id, model.name) : null;
      if (!url) {
        link.removeAttribute("href");
        link.removeAttribute("download");
        link.setAttribute("aria-disabled", "true");
        link.title = "Select a cell to download it as WAV";
        return;
      }
      const track = (this.data.track && this.data.track.id) || "track";
      const name = row.reference ? `${track}_${row.id}` : `${track}_${row.id}_${model.name}`;
      link.href = url;
      link.download = `${name.replace(/[^\w.+@-]+/g, "_")}.wav`;
      link.removeAttribute("aria-disabled");
      const gain = (this.entryFor(row.id, model.name) || {}).gain || 1;
      // Files louder than full scale are stored scaled down (see cells.py): say so rather than hide it.
      link.title = gain > 1
        ? `${row.label} · ${model.display_name}, 16-bit WAV scaled to full scale (its true level is ${gain.toFixed(2)}× louder)`
        : `${row.label} · ${model.display_name}, 16-bit WAV`;
    }

    /** Save the selected cell under its descriptive name (the server's own file name is a content hash, and
     * its response headers would override the link's `download` name, so the file goes through a blob URL). */
    async download() {
      const link = this.downloadLink;
      if (!link.href) return;
      const response = await fetch(link.href);
      if (!response.ok) return;
      const blob = URL.createObjectURL(await response.blob());
      const save = h("a", { href: blob, download: link.download, hidden: true });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(blob), 10000);
    }

    // ---------------------------------------------------------------- data

    setValue(raw) {
      const data = parseValue(raw);
      const trackId = (d) => (d && d.track && typeof d.track === "object" ? d.track.id : d && d.track);
      if (!data || trackId(data) !== trackId(this.data)) {
        this.stop();
        this.row = null;
        this.model = null;
        this.buffers.clear();
        this.pending.clear();
        this.queue = [];
        this.decodeErrors = 0;
      }
      this.data = data;
      const selected = this.applySelect();
      this.renderTable();
      if (data) this.decodeAll();
      this.followValue();
      this.drawWaves();
      this.updateTime();
      if (selected) {
        const td = this.tableWrap.querySelector(`td.lc-selected`);
        if (td) td.scrollIntoView({ block: "center" });
      }
    }

    /** A deep link's `select` picks the cell when nothing is selected yet (a new track). */
    applySelect() {
      const sel = this.data && this.data.select;
      if (!sel || !sel.row || !sel.model || this.row || this.playing) return false;
      if (!this.data.rows.some((r) => r.id === sel.row) || !this.data.models.some((m) => m.name === sel.model)) return false;
      this.row = sel.row;
      this.model = sel.model;
      keyboardOwner = this;
      return true;
    }

    /** While playing, a new value with other audio for the playing cell (the mixer's new gains) takes over in place. */
    followValue() {
      if (!this.playing || !this.voice) return;
      const url = this.urlFor(this.row, this.model);
      if (!url || url === this.voice.url) return;
      const token = this.request;
      this.load(url).then(
        () => {
          if (token !== this.request || !this.playing || this.urlFor(this.row, this.model) !== url) return;
          this.switchVoice(url, this.levelFor(this.row, this.model), null);
          this.refreshCells();
          this.drawWaves();
        },
        () => {},
      );
    }

    link() {
      const track = this.data && this.data.track;
      if (!track || !this.row || !this.model) return null;
      const url = new URL(window.location.href);
      url.hash = "";
      url.searchParams.set("track", typeof track === "object" ? track.id : track);
      url.searchParams.set("model", this.model);
      url.searchParams.set("row", this.row);
      return url.toString();
    }

    async copyLink() {
      const url = this.link();
      if (!url) return;
      let copied = false;
      try {
        // A clipboard that asks for permission may never answer: give it a second, then copy the old way.
        const late = new Promise((_, reject) => setTimeout(() => reject(new Error("clipboard timeout")), 1000));
        await Promise.race([navigator.clipboard.writeText(url), late]);
        copied = true;
      } catch (err) {
        // No clipboard API (plain http, or permission refused): copy through a selected text field.
        const field = h("textarea", { class: "lc-link-field", readonly: true });
        field.value = url;
        this.root.append(field);
        field.select();
        copied = document.execCommand("copy");
        field.remove();
      }
      this.status.textContent = copied ? "Link copied." : `Link: ${url}`;
    }

    urlFor(row, model) {
      const data = this.data;
      if (!data || !row || !model) return null;
      const rowInfo = data.rows.find((r) => r.id === row);
      if (rowInfo && rowInfo.reference) {
        const modelInfo = data.models.find((m) => m.name === model);
        if (!modelInfo || !modelInfo.available) return null;
        if (!(data.cells[row] || {})[model] && !this.columnReady(model)) return null;
        return (data.reference[row] || {}).url || null;
      }
      return ((data.cells[row] || {})[model] || {}).url || null;
    }

    columnReady(model) {
      return this.data.rows.some((r) => !r.reference && (this.data.cells[r.id] || {})[model]);
    }

    entryFor(row, model) {
      const data = this.data;
      if (!data || !row || !model) return null;
      const rowInfo = data.rows.find((r) => r.id === row);
      return (rowInfo && rowInfo.reference ? data.reference[row] : (data.cells[row] || {})[model]) || null;
    }

    /**
     * The gain a cell plays at. `gain` restores its true level (loud files are stored scaled down); with the limiter
     * on, a cell whose true peak (known from the server) is above the ceiling is brought down to it here, before
     * the volume, so Volume still scales what is heard and the limiter itself rarely has to act.
     */
    levelFor(row, model) {
      const entry = this.entryFor(row, model) || {};
      const gain = entry.gain || 1;
      const peak = entry.peak || gain;
      const level = this.limiterOn ? gain * Math.min(1, CEILING / peak) : gain;
      return Number.isFinite(level) ? level : 0;
    }

    peaksFor(row, model) {
      const entry = this.entryFor(row, model);
      return entry ? entry.peaks : null;
    }

    allUrls() {
      const urls = new Set();
      for (const row of this.data.rows) {
        for (const m of this.data.models) {
          const url = this.urlFor(row.id, m.name);
          if (url) urls.add(url);
        }
      }
      return [...urls];
    }

    decodeAll() {
      for (const url of this.allUrls()) this.load(url);
      this.updateStatus();
    }

    load(url) {
      if (this.pending.has(url)) return this.pending.get(url);
      const promise = new Promise((resolve, reject) => this.queue.push({ url, resolve, reject }));
      this.pending.set(url, promise);
      promise.catch(() => {}); // failures are reported in the status line, not as unhandled rejections
      this.pump();
      return promise;
    }

    pump() {
      while (this.active < DECODE_CONCURRENCY && this.queue.length) {
        const job = this.queue.shift();
        this.active++;
        this.decode(job.url)
          .then((buffer) => {
            if (this.pending.get(job.url)) this.buffers.set(job.url, buffer);
            job.resolve(buffer);
          })
          .catch((err) => {
            this.decodeErrors++;
            this.pending.delete(job.url);
            job.reject(err);
          })
          .finally(() => {
            this.active--;
            this.updateStatus();
            this.refreshCells();
            this.pump();
          });
      }
    }

    async decode(url) {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
      const bytes = await response.arrayBuffer();
      if (!this.decoder) {
        // An offline context decodes without needing a user gesture (no autoplay warning).
        this.decoder = new OfflineAudioContext(1, 1, this.sampleRate());
      }
      return this.decoder.decodeAudioData(bytes);
    }

    loaded() {
      const total = this.data ? this.allUrls().length : 0;
      const decoded = this.data ? this.allUrls().filter((u) => this.buffers.has(u)).length : 0;
      return { decoded, total };
    }

    updateStatus() {
      const { decoded, total } = this.loaded();
      let text = decoded < total ? `Loading audio ${decoded}/${total}…` : "";
      if (this.decodeErrors) text += ` ${this.decodeErrors} file(s) failed to load.`;
      this.status.textContent = text.trim();
    }

    sampleRate() {
      return (this.data && this.data.sample_rate) || DEFAULT_RATE;
    }

    duration() {
      const buffer = this.voice && this.buffers.get(this.voice.url);
      if (buffer) return buffer.duration;
      return (this.data && this.data.duration) || 0;
    }

    // ---------------------------------------------------------------- audio graph

    ensureContext() {
      if (!this.ctx) {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        try {
          this.ctx = new Ctx({ sampleRate: this.sampleRate(), latencyHint: "interactive" });
        } catch (err) {
          this.ctx = new Ctx();
        }
        this.master = this.ctx.createGain();
        this.master.gain.value = this.volume;
        this.limiter = this.ctx.createWaveShaper();
        this.limiter.curve = limiterCurve();
        this.limiter.oversample = "none"; // oversampling filters could ring above the ceiling
        this.analyser = this.ctx.createAnalyser();
        this.analyser.fftSize = 4096;
        this.limiter.connect(this.analyser);
        this.analyser.connect(this.ctx.destination);
        this.routeMaster();
        // iOS plays Web Audio through the ringer channel unless told otherwise.
        if (navigator.audioSession) navigator.audioSession.type = "playback";
      }
      if (this.ctx.state !== "running") this.ctx.resume();
      return this.ctx;
    }

    routeMaster() {
      this.master.disconnect();
      this.master.connect(this.limiterOn ? this.limiter : this.analyser);
    }

    positionAt(t) {
      if (!this.playing) return this.pausedPos;
      const d = this.duration();
      if (d <= 0) return 0;
      // Before a scheduled start (t < anchorTime) the new voice has not begun: never report less than 0.
      const p = Math.max(0, this.anchorPos + (t - this.anchorTime));
      return this.loop ? p % d : Math.min(p, d);
    }

    position() {
      return this.playing && this.ctx ? this.positionAt(this.ctx.currentTime) : this.pausedPos;
    }

    /** `level` restores the cell's true loudness: files louder than full scale are stored scaled down. */
    startVoice(url, level, when, offset) {
      const ctx = this.ctx;
      const buffer = this.buffers.get(url);
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.loop = this.loop;
      const gain = ctx.createGain();
      gain.gain.setValueAtTime(0, when);
      gain.gain.linearRampToValueAtTime(level, when + FADE);
      source.connect(gain);
      gain.connect(this.master);
      const voice = { source, gain, url, level };
      source.onended = () => {
        gain.disconnect();
        if (this.voice === voice) this.onEnded();
      };
      source.start(when, Math.min(Math.max(offset, 0), Math.max(0, buffer.duration - 1 / buffer.sampleRate)));
      return voice;
    }

    fadeOut(voice, when) {
      const g = voice.gain.gain;
      if (g.cancelAndHoldAtTime) g.cancelAndHoldAtTime(when);
      else {
        g.cancelScheduledValues(when);
        g.setValueAtTime(voice.level, when);
      }
      g.linearRampToValueAtTime(0, when + FADE);
      voice.source.onended = () => voice.gain.disconnect();
      voice.source.stop(when + FADE + 0.005);
    }

    /**
     * Play `url` at gain `level` from `offset` (null: from the current position), crossfading from whatever plays now.
     * Both voices share one start time on the AudioContext clock, which keeps the switch sample-accurate.
     */
    switchVoice(url, level, offset) {
      const t0 = this.ctx.currentTime + LEAD;
      const from = offset === null ? this.positionAt(t0) : offset;
      const buffer = this.buffers.get(url);
      const start = Math.min(Math.max(from, 0), buffer.duration);
      const old = this.voice;
      for (const other of Object.values(players)) {
        if (other !== this && other.playing) other.pause(); // one sound on the page
      }
      keyboardOwner = this;
      this.voice = this.startVoice(url, level, t0, start);
      if (old) this.fadeOut(old, t0);
      this.anchorTime = t0;
      this.anchorPos = start;
      this.playing = true;
      this.silenceMedia();
      this.startFrames();
    }

    onEnded() {
      // Loop off and the clip reached its end: rewind, ready to play again.
      this.voice = null;
      this.playing = false;
      this.pausedPos = 0;
      this.refreshCells();
      this.updateTime();
    }

    // ---------------------------------------------------------------- actions

    onCellClick(row, model) {
      if (row === this.row && model === this.model) this.toggle();
      else this.play(row, model);
    }

    /** Play a cell. With Sync the position carries over from the current cell, otherwise it starts at 0. */
    async play(row, model) {
      const url = this.urlFor(row, model);
      if (!url) return;
      const token = ++this.request;
      this.ensureContext();
      const carry = this.sync || (row === this.row && model === this.model);
      this.row = row;
      this.model = model;
      this.refreshCells();
      this.drawWaves();
      if (!this.buffers.has(url)) {
        try {
          await this.load(url);
        } catch (err) {
          return;
        }
        if (token !== this.request) return;
      }
      this.switchVoice(url, this.levelFor(row, model), !carry ? 0 : this.playing ? null : this.pausedPos);
      this.refreshCells();
      this.drawWaves();
    }

    toggle() {
      if (this.playing) this.pause();
      else if (this.row && this.model) this.play(this.row, this.model);
      else this.playFirst();
    }

    playFirst() {
      if (!this.data) return;
      for (const row of this.data.rows) {
        for (const m of this.data.models) {
          if (this.urlFor(row.id, m.name)) return this.play(row.id, m.name);
        }
      }
    }

    pause() {
      this.request++;
      if (!this.playing) return;
      const now = this.ctx.currentTime;
      this.pausedPos = this.positionAt(now);
      const voice = this.voice;
      this.voice = null;
      this.playing = false;
      if (voice) this.fadeOut(voice, now);
      this.refreshCells();
      this.updateTime();
    }

    stop() {
      this.pause();
      this.pausedPos = 0;
      this.scrub = null;
      this.drawWaves();
      this.updateTime();
    }

    seek(seconds) {
      const d = this.duration();
      const target = Math.min(Math.max(seconds, 0), Math.max(0, d - 0.001));
      if (this.playing && this.voice) {
        this.switchVoice(this.voice.url, this.voice.level, target);
      } else {
        this.pausedPos = target;
      }
      this.drawWaves();
      this.updateTime();
    }

    setSync(on) {
      this.sync = Boolean(on);
      this.syncBox.checked = this.sync;
    }

    setLoop(on) {
      const p = this.position();
      this.loop = Boolean(on);
      this.loopBox.checked = this.loop;
      if (this.playing && this.voice) {
        // Re-anchor so the position formula matches where the source's playhead already is.
        this.anchorTime = this.ctx.currentTime;
        this.anchorPos = p;
        this.voice.source.loop = this.loop;
      }
    }

    setVolume(v) {
      this.volume = Math.min(Math.max(Number(v) || 0, 0), 1);
      this.volumeInput.value = String(this.volume);
      if (this.master) this.master.gain.setTargetAtTime(this.volume, this.ctx.currentTime, 0.01);
    }

    setLimiter(on) {
      this.limiterOn = Boolean(on);
      this.limiterBox.checked = this.limiterOn;
      if (!this.master) return;
      this.routeMaster();
      if (this.playing && this.voice) {
        this.voice.level = this.levelFor(this.row, this.model);
        this.voice.gain.gain.setTargetAtTime(this.voice.level, this.ctx.currentTime, 0.005);
      }
    }

    state() {
      return {
        playing: this.playing,
        row: this.row,
        model: this.model,
        position: this.position(),
        sync: this.sync,
        loop: this.loop,
      };
    }

    moveRow(step) {
      if (!this.data) return;
      const model = this.model || (this.data.models.find((m) => m.available) || {}).name;
      const rows = this.data.rows.map((r) => r.id);
      let i = rows.indexOf(this.row);
      for (let k = 0; k < rows.length; k++) {
        i = i < 0 ? (step > 0 ? 0 : rows.length - 1) : (i + step + rows.length) % rows.length;
        if (this.urlFor(rows[i], model)) return this.select(rows[i], model);
      }
    }

    selectModel(index) {
      const m = this.data && this.data.models[index];
      if (!m) return;
      const row = this.row || this.data.rows[0].id;
      if (this.urlFor(row, m.name)) this.select(row, m.name);
    }

    /** Keyboard navigation: switch while playing, only move the selection while paused. */
    select(row, model) {
      if (this.playing) return this.play(row, model);
      this.row = row;
      this.model = model;
      this.refreshCells();
      this.drawWaves();
    }

    onKey(ev) {
      if (!this.root.isConnected || !this.data || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (keyboardPlayer() !== this) return;
      const target = ev.target;
      if (target && target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']")) return;
      const key = ev.key;
      let handled = true;
      if (key === " " || key === "Spacebar") {
        this.ensureContext();
        this.toggle();
      } else if (key === "ArrowLeft" || key === "ArrowRight") {
        const step = (ev.shiftKey ? 5 : 1) * SEEK_STEP * (key === "ArrowLeft" ? -1 : 1);
        this.seek(this.position() + step);
      } else if (key === "ArrowUp" || key === "ArrowDown") {
        this.moveRow(key === "ArrowUp" ? -1 : 1);
      } else if (/^[1-9]$/.test(key)) {
        this.selectModel(Number(key) - 1);
      } else if (key === "s" || key === "S") {
        this.stop();
      } else {
        handled = false;
      }
      if (handled) ev.preventDefault();
    }

    onMediaPlay(ev) {
      // One sound on the page: another <audio>/<video> starting pauses this player.
      if (this.playing && ev.target instanceof HTMLMediaElement) this.pause();
    }

    silenceMedia() {
      for (const media of document.querySelectorAll("audio, video")) {
        if (!media.paused) media.pause();
      }
    }

    // ---------------------------------------------------------------- drawing

    startFrames() {
      if (this.frame !== null) return;
      const tick = () => {
        this.drawWaves();
        this.updateTime();
        this.frame = this.playing || this.scrub !== null ? requestAnimationFrame(tick) : null;
      };
      this.frame = requestAnimationFrame(tick);
    }

    updateTime() {
      const p = this.scrub !== null ? this.scrub : this.position();
      this.timeLabel.textContent = `${formatTime(p)} / ${formatTime(this.duration())}`;
    }

    drawWaves() {
      const style = getComputedStyle(this.root);
      const colors = {
        wave: style.getPropertyValue("--lc-wave").trim() || "#888",
        cell: style.getPropertyValue("--lc-accent").trim() || "#3182ce",
        head: style.getPropertyValue("--lc-head").trim() || "#e53e3e",
        played: style.getPropertyValue("--lc-played").trim() || "rgba(49,130,206,0.15)",
      };
      const d = this.duration();
      const p = this.scrub !== null ? this.scrub : this.position();
      const frac = d > 0 ? p / d : 0;
      this.drawWave(this.mixCanvas, this.data && this.data.mix_peaks, colors.wave, frac, colors);
      this.drawWave(this.cellCanvas, this.peaksFor(this.row, this.model), colors.cell, frac, colors);
    }

    drawWave(canvas, peaks, color, frac, colors) {
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

  window.lincaeMountPlayer = function (element, props, watch, options) {
    const opts = { name: "table", links: false, ...(options || {}) };
    const root = element.querySelector(".lincae-player-root") || element;
    const old = players[opts.name];
    if (old && old.root !== root) old.dispose();
    const player = new Player(root, opts);
    players[opts.name] = player;
    if (opts.name === "table") window.lincaePlayer = player;
    player.setValue(props.value);
    watch("value", () => player.setValue(props.value));
    return player;
  };
})();
