/*
 * The controls: the bar above the table (Sync, Loop, Safety limiter, Volume, Stop All, Copy link, Download WAV,
 * time, status) and the keys. Keys belong to a player only while it has the focus, or while the pointer is over it
 * and nothing else has the focus: elsewhere Space and the arrows scroll the page, and a focused form control keeps
 * its own keys.
 */
(function (kit) {
  "use strict";

  const h = kit.h;
  const SEEK_STEP = 1; // seconds per arrow key (Shift: 5×)
  const LIMITER_HELP =
    "On: nothing louder than −1 dBFS reaches the speakers, whatever the cell or volume; cells louder than that " +
    "play with their peak at −1 dBFS. Turning it off is your choice: cells then play at their true level, " +
    "which can be painfully loud.";

  class Controls {
    /** `player`: the Player these controls drive; `links`: whether to offer "Copy link". */
    constructor(player, links) {
      this.player = player;
      const box = (cls, onChange) => {
        const input = h("input", { type: "checkbox", checked: true, class: cls });
        input.addEventListener("change", () => onChange(input.checked));
        return input;
      };
      this.syncBox = box("lc-sync", (on) => player.setSync(on));
      this.loopBox = box("lc-loop", (on) => player.setLoop(on));
      this.limiterBox = box("lc-limiter", (on) => player.setLimiter(on));
      this.volumeInput = h("input", {
        type: "range", min: 0, max: 1, step: 0.01, value: 0.8, class: "lc-volume", "aria-label": "Volume",
      });
      this.volumeInput.addEventListener("input", () => player.setVolume(Number(this.volumeInput.value)));
      const stop = h("button", { type: "button", class: "lc-stop", text: "Stop All", title: "Stop and rewind (S)" });
      stop.addEventListener("click", () => player.stop());
      this.linkButton = links
        ? h("button", {
          type: "button", class: "lc-copy-link", text: "Copy link",
          title: "Copy a link that opens this page on the selected cell",
        })
        : null;
      if (this.linkButton) this.linkButton.addEventListener("click", () => this.copyLink());
      this.downloadLink = h("a", { class: "lc-download", text: "Download WAV", "aria-disabled": "true" });
      this.downloadLink.addEventListener("click", (ev) => {
        ev.preventDefault();
        this.download();
      });
      this.timeLabel = h("span", { class: "lc-time", "aria-live": "off", text: "0:00.00 / 0:00.00" });
      this.status = h("span", { class: "lc-status", "aria-live": "polite" });
      this.element = h(
        "div",
        { class: "lc-controls" },
        h("label", { title: "Switching cell keeps the playback position" }, this.syncBox, " Sync Playback"),
        h("label", { title: "Loop the clip without a gap" }, this.loopBox, " Loop"),
        h("label", { title: LIMITER_HELP }, this.limiterBox, " Safety limiter"),
        h("label", { class: "lc-volume-label" }, "Volume ", this.volumeInput),
        stop,
        this.linkButton,
        this.downloadLink,
        this.timeLabel,
        this.status,
      );
      // A control used with the pointer hands the keys back to the player: Space after clicking "Loop" plays or
      // pauses instead of toggling Loop again. Controls reached with Tab keep their keys.
      this.element.addEventListener("click", (ev) => {
        if (ev.detail > 0 && ev.target.closest("input[type=checkbox], button")) player.focus();
      });
    }

    show(state) {
      this.syncBox.checked = state.sync;
      this.loopBox.checked = state.loop;
      this.limiterBox.checked = state.limiterOn;
      this.volumeInput.value = String(state.volume);
    }

    setTime(position, duration) {
      this.timeLabel.textContent = `${kit.formatTime(position)} / ${kit.formatTime(duration)}`;
    }

    setStatus(text) {
      this.status.textContent = text;
    }

    /** Enable "Copy link" and "Download WAV" for the selected cell (null: nothing selected). */
    showSelection(row, model, entry, url, trackId) {
      if (this.linkButton) this.linkButton.disabled = !(row && model);
      const link = this.downloadLink;
      if (!url) {
        link.removeAttribute("href");
        link.removeAttribute("download");
        link.setAttribute("aria-disabled", "true");
        link.title = "Select a cell to download it as WAV";
        return;
      }
      const name = row.reference ? `${trackId}_${row.id}` : `${trackId}_${row.id}_${model.name}`;
      link.href = url;
      link.download = `${name.replace(/[^\w.+@-]+/g, "_")}.wav`;
      link.removeAttribute("aria-disabled");
      const gain = (entry && entry.gain) || 1;
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

    async copyLink() {
      const url = this.player.link();
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
        this.element.append(field);
        field.select();
        copied = document.execCommand("copy");
        field.remove();
      }
      this.setStatus(copied ? "Link copied." : `Link: ${url}`);
    }
  }

  /** The URL that opens the page on `row` × `model` of `trackId` (?track=…&model=…&row=…). */
  kit.cellLink = function cellLink(trackId, row, model) {
    const url = new URL(window.location.href);
    url.hash = "";
    url.searchParams.set("track", trackId);
    url.searchParams.set("model", model);
    url.searchParams.set("row", row);
    return url.toString();
  };

  /**
   * Whether `player` should take the key event `ev`: the focus is inside it (on a cell or on the player itself,
   * not on one of its form controls), or nothing has the focus and the pointer is over it.
   */
  kit.ownsKey = function ownsKey(player, ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || !player.root.isConnected) return false;
    const focused = document.activeElement;
    const idle = !focused || focused === document.body || focused === document.documentElement;
    if (idle) return player.pointerInside;
    if (!player.root.contains(focused)) return false;
    return !kit.isFormControl(focused);
  };

  /** Carry out a player key; returns whether the key was one. Space acts on the focused cell when there is one. */
  kit.handleKey = function handleKey(player, ev) {
    const key = ev.key;
    if (key === " " || key === "Spacebar") {
      const cell = ev.target && ev.target.closest && ev.target.closest("td.lc-cell[role=button]");
      if (cell && player.root.contains(cell)) player.activate(cell.dataset.row, cell.dataset.model);
      else player.toggle();
    } else if (key === "ArrowLeft" || key === "ArrowRight") {
      const step = (ev.shiftKey ? 5 : 1) * SEEK_STEP * (key === "ArrowLeft" ? -1 : 1);
      player.seek(player.position() + step);
    } else if (key === "ArrowUp" || key === "ArrowDown") {
      player.moveRow(key === "ArrowUp" ? -1 : 1);
    } else if (/^[1-9]$/.test(key)) {
      player.selectModel(Number(key) - 1);
    } else if (key === "s" || key === "S") {
      player.stop();
    } else {
      return false;
    }
    return true;
  };

  /** One listener for the page: a key goes to the player that owns it, if any. */
  kit.listenForKeys = function listenForKeys(players) {
    if (kit.listening) return;
    kit.listening = true;
    document.addEventListener("keydown", (ev) => {
      const player = Object.values(players).find((p) => p.data && kit.ownsKey(p, ev));
      if (player && kit.handleKey(player, ev)) ev.preventDefault();
    });
  };

  kit.Controls = Controls;
})((window.lincaePlayerKit = window.lincaePlayerKit || {}));
