/*
 * The lincae comparison player: one table of cells (rows = latent operations, columns = models), every cell decoded
 * into an AudioBuffer up front and played through a single Web Audio graph, so switching cell keeps the playback
 * position to the sample. This file ties the parts together (audio.js, table.js, waves.js, controls.js) and mounts
 * the player from the gr.HTML component's js_on_load:
 *     window.lincaeMountPlayer(element, props, watch, {name, links})
 * Several players can share a page (the demo table, the latent mixer): `window.lincaePlayers[name]`; only one of
 * them sounds at a time. A value may carry `select: {row, model}` (a deep link): that cell is selected and focused,
 * not played (browsers block autoplay), so one click or Space plays it.
 *
 * Scripting surface (for presenters and tests), on the table's player (`window.lincaePlayer`):
 *     window.lincaePlayer.state()   -> {playing, row, model, position, sync, loop}
 *     window.lincaePlayer.loaded()  -> {decoded, total}
 *     window.lincaePlayer.play(row, model), .toggle(), .pause(), .stop(), .seek(seconds)
 *     window.lincaePlayer.setSync(bool), .setLoop(bool), .setVolume(0..1), .setLimiter(bool)
 *     window.lincaePlayer.link()    -> URL of the selected cell (?track=…&model=…&row=…), or null
 *     window.lincaePlayer.analyser  (AnalyserNode on the final output; null before the first play)
 * Every cell element carries data-row and data-model.
 */
(function (kit) {
  "use strict";

  const h = kit.h;
  const DEFAULT_RATE = 44100;
  const players = (window.lincaePlayers = window.lincaePlayers || {});

  class Player {
    constructor(root, options) {
      this.root = root;
      this.options = options || {};
      this.data = null;
      this.value = new kit.TrackValue(null);
      this.row = null;
      this.model = null;
      this.sync = true;
      this.request = 0; // increments per user action, so a late decode cannot undo a newer click
      this.frame = null;
      this.pointerInside = false;
      this.linkedCell = null; // [row, model] of a deep link, focused once it is playable
      this.audio = new kit.AudioEngine({
        sampleRate: () => (this.data && this.data.sample_rate) || DEFAULT_RATE,
        loaded: () => {
          this.updateStatus();
          this.refresh();
        },
        ended: () => this.refresh(),
      });
      this.onMediaPlay = this.onMediaPlay.bind(this);
      document.addEventListener("play", this.onMediaPlay, true);
      this.root.replaceChildren();
      this.root.classList.add("lincae-player");
      this.root.tabIndex = -1; // a click on the player (not on a control) gives it the keys
      this.root.addEventListener("pointerenter", () => (this.pointerInside = true));
      this.root.addEventListener("pointerleave", () => (this.pointerInside = false));
      this.controls = new kit.Controls(this, this.options.links);
      this.waves = new kit.WaveformView({
        duration: () => this.duration(),
        seek: (t) => this.seek(t),
        scrubbed: () => this.redraw(),
      });
      this.table = new kit.TableView({
        urlFor: (row, model) => this.urlFor(row, model),
        isLoaded: (url) => this.audio.has(url),
        activate: (row, model) => this.activate(row, model),
      });
      const warning = h("p", {
        class: "lc-warning",
        role: "note",
        text: "Warning: some baselines can produce very loud noise. Start with a low volume; " +
          "the safety limiter (on by default) keeps every sound below −1 dBFS.",
      });
      const help = h("p", {
        class: "lc-help",
        text: "Click a cell to play, again to pause. Keys, once you have clicked in the player: Space play/pause · " +
          "←/→ seek · ↑/↓ row · 1–9 model · S stop.",
      });
      this.notice = h("p", { class: "lc-notice", role: "status", hidden: true });
      this.noticesShown = new Set(); // a notice (a broken deep link) is shown once per page
      this.root.append(warning, this.notice, this.controls.element, this.waves.element, this.table.element, help);
    }

    dispose() {
      this.stop();
      document.removeEventListener("play", this.onMediaPlay, true);
      this.waves.dispose();
      this.audio.close();
    }

    // ------------------------------------------------------------ what the audio engine exposes

    get ctx() { return this.audio.ctx; }
    get analyser() { return this.audio.analyser; }
    get voice() { return this.audio.voice; }
    get playing() { return this.audio.playing; }
    get loop() { return this.audio.loop; }
    get volume() { return this.audio.volume; }
    get limiterOn() { return this.audio.limiterOn; }

    focus() {
      this.root.focus({ preventScroll: true });
    }

    // ------------------------------------------------------------ the value

    setValue(raw) {
      const data = kit.parseValue(raw);
      const value = new kit.TrackValue(data);
      if (!data || value.trackId !== this.value.trackId) {
        this.stop();
        this.row = null;
        this.model = null;
        this.audio.clear();
        this.notice.hidden = true;
      }
      this.showNotice(data && data.notice);
      const focused = document.activeElement;
      const focusedCell = focused && this.root.contains(focused) && focused.matches("td.lc-cell")
        ? [focused.dataset.row, focused.dataset.model] : null;
      this.data = data;
      this.value = value;
      const selected = this.applySelect();
      this.table.render(data);
      if (data) this.decodeAll();
      this.followValue();
      this.refresh();
      if (selected) this.linkedCell = [this.row, this.model];
      if (focusedCell) this.focusCell(...focusedCell, false); // a re-render keeps the focus where it was
      else if (this.linkedCell) this.focusLinkedCell();
    }

    /** A linked cell gets the focus (so Space plays it) once it is playable, unless the visitor went elsewhere. */
    focusLinkedCell() {
      const [row, model] = this.linkedCell;
      const focused = document.activeElement;
      const elsewhere = focused && focused !== document.body && !this.root.contains(focused);
      if (elsewhere || this.row !== row || this.model !== model) {
        this.linkedCell = null;
        return;
      }
      if (!this.urlFor(row, model)) return; // still computing: try again with the next value
      this.focusCell(row, model, true);
      this.linkedCell = null;
    }

    showNotice(text) {
      if (!text || this.noticesShown.has(text)) return;
      this.noticesShown.add(text);
      const dismiss = h("button", { type: "button", class: "lc-notice-close", text: "Dismiss" });
      dismiss.addEventListener("click", () => (this.notice.hidden = true));
      this.notice.replaceChildren(h("span", { text }), " ", dismiss);
      this.notice.hidden = false;
    }

    /** A deep link's `select` picks the cell when nothing is selected yet (a new track). */
    applySelect() {
      const sel = this.data && this.data.select;
      if (!sel || !sel.row || !sel.model || this.row || this.playing) return false;
      if (!this.data.rows.some((r) => r.id === sel.row) || !this.data.models.some((m) => m.name === sel.model)) return false;
      this.row = sel.row;
      this.model = sel.model;
      return true;
    }

    focusCell(row, model, reveal) {
      const td = this.table.cellElement(row, model);
      if (!td) return;
      if (reveal) td.scrollIntoView({ block: "center" });
      td.focus({ preventScroll: true });
    }

    /** While playing, a new value with other audio for the playing cell (the mixer's new gains) takes over in place. */
    followValue() {
      const voice = this.audio.voice;
      if (!this.playing || !voice) return;
      const url = this.urlFor(this.row, this.model);
      if (!url || url === voice.url) return;
      const token = this.request;
      this.audio.load(url).then(
        () => {
          if (token !== this.request || !this.playing || this.urlFor(this.row, this.model) !== url) return;
          this.audio.switchTo(url, this.levelFor(this.row, this.model), null);
          this.refresh();
        },
        () => {},
      );
    }

    urlFor(row, model) {
      return this.value.urlFor(row, model);
    }

    entryFor(row, model) {
      return this.value.entryFor(row, model);
    }

    levelFor(row, model) {
      return kit.cellLevel(this.entryFor(row, model), this.limiterOn);
    }

    decodeAll() {
      for (const url of this.value.allUrls()) this.audio.load(url);
      this.updateStatus();
    }

    loaded() {
      const urls = this.value.allUrls();
      return { decoded: urls.filter((u) => this.audio.has(u)).length, total: urls.length };
    }

    updateStatus() {
      const { decoded, total } = this.loaded();
      let text = decoded < total ? `Loading audio ${decoded}/${total}…` : "";
      if (this.audio.errors) text += ` ${this.audio.errors} file(s) failed to load.`;
      this.controls.setStatus(text.trim());
    }

    link() {
      const track = this.value.trackId;
      return track && this.row && this.model ? kit.cellLink(track, this.row, this.model) : null;
    }

    // ------------------------------------------------------------ actions

    /** A click, Enter or Space on a cell: the selected cell toggles, another one plays. */
    activate(row, model) {
      if (row === this.row && model === this.model) this.toggle();
      else this.play(row, model);
    }

    /** Play a cell. With Sync the position carries over from the current cell, otherwise it starts at 0. */
    async play(row, model) {
      const url = this.urlFor(row, model);
      if (!url) return;
      const token = ++this.request;
      this.audio.ensureContext();
      const carry = this.sync || (row === this.row && model === this.model);
      this.row = row;
      this.model = model;
      this.refresh();
      if (!this.audio.has(url)) {
        try {
          await this.audio.load(url);
        } catch (err) {
          return;
        }
        if (token !== this.request) return;
      }
      for (const other of Object.values(players)) {
        if (other !== this && other.playing) other.pause(); // one sound on the page
      }
      this.audio.switchTo(url, this.levelFor(row, model), !carry ? 0 : this.playing ? null : this.audio.pausedPos);
      for (const media of document.querySelectorAll("audio, video")) {
        if (!media.paused) media.pause();
      }
      this.refresh();
      this.startFrames();
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
      this.audio.pause();
      this.refresh();
    }

    stop() {
      this.pause();
      this.audio.pausedPos = 0;
      this.waves.scrub = null;
      this.refresh();
    }

    seek(seconds) {
      this.audio.seek(seconds, this.data && this.data.duration);
      this.refresh();
    }

    position() {
      return this.audio.position();
    }

    duration() {
      return this.audio.duration(this.data && this.data.duration);
    }

    setSync(on) {
      this.sync = Boolean(on);
      this.refresh();
    }

    setLoop(on) {
      this.audio.setLoop(on);
      this.refresh();
    }

    setVolume(v) {
      this.audio.setVolume(v);
      this.refresh();
    }

    setLimiter(on) {
      this.audio.setLimiter(on, kit.cellLevel(this.entryFor(this.row, this.model), Boolean(on)));
      this.refresh();
    }

    state() {
      return { playing: this.playing, row: this.row, model: this.model, position: this.position(), sync: this.sync, loop: this.loop };
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
      const m = this.data && this.data.models.filter((model) => model.available)[index];
      if (!m) return;
      const row = this.row || this.data.rows[0].id;
      if (this.urlFor(row, m.name)) this.select(row, m.name);
    }

    /** Keyboard navigation: switch while playing, only move the selection while paused; the focus follows. */
    select(row, model) {
      if (this.playing) this.play(row, model);
      else {
        this.row = row;
        this.model = model;
        this.refresh();
      }
      if (this.root.contains(document.activeElement)) this.focusCell(row, model, false);
    }

    onMediaPlay(ev) {
      // One sound on the page: another <audio>/<video> starting pauses this player.
      if (this.playing && ev.target instanceof HTMLMediaElement) this.pause();
    }

    // ------------------------------------------------------------ drawing

    /** Bring every view in line with the state: table marks, controls, waveforms, time. */
    refresh() {
      this.table.refresh(this.row, this.model, this.playing);
      const row = this.value.rowInfo(this.row);
      const model = this.value.modelInfo(this.model);
      const entry = row && model ? this.entryFor(row.id, model.name) : null;
      const url = row && model ? this.urlFor(row.id, model.name) : null;
      this.controls.showSelection(row, model, entry, url, this.value.trackId || "track");
      this.controls.show({ sync: this.sync, loop: this.loop, limiterOn: this.limiterOn, volume: this.volume });
      this.waves.show(this.data && this.data.mix_peaks, entry && entry.peaks,
        row && model ? `${row.label} · ${model.display_name}` : null);
      this.redraw();
    }

    /** The moving parts only: playhead and time (every animation frame while playing). */
    redraw() {
      const p = this.waves.scrub !== null ? this.waves.scrub : this.position();
      const d = this.duration();
      this.waves.draw(p, d);
      this.controls.setTime(p, d);
    }

    startFrames() {
      if (this.frame !== null) return;
      const tick = () => {
        this.redraw();
        this.frame = this.playing || this.waves.scrub !== null ? requestAnimationFrame(tick) : null;
      };
      this.frame = requestAnimationFrame(tick);
    }
  }

  kit.listenForKeys(players);

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
})((window.lincaePlayerKit = window.lincaePlayerKit || {}));
