/*
 * Reading the player value (the JSON described in docs/ARCHITECTURE.md, "Player value"): which file plays for a
 * row × model, at what level, and which cells exist yet. A column still computing has no cells; its reference
 * rows become playable once it has one.
 */
(function (kit) {
  "use strict";

  class TrackValue {
    constructor(data) {
      this.data = data;
    }

    get trackId() {
      const track = this.data && this.data.track;
      return track && typeof track === "object" ? track.id : track || null;
    }

    rowInfo(row) {
      return (this.data && this.data.rows.find((r) => r.id === row)) || null;
    }

    modelInfo(model) {
      return (this.data && this.data.models.find((m) => m.name === model)) || null;
    }

    /** The cell's {url, peaks, gain, peak}: a reference row's original audio, or the model's output. */
    entryFor(row, model) {
      const rowInfo = this.rowInfo(row);
      if (!rowInfo || !model) return null;
      return (rowInfo.reference ? this.data.reference[row] : (this.data.cells[row] || {})[model]) || null;
    }

    /** The URL that plays for row × model, or null when that cell is not available (yet). */
    urlFor(row, model) {
      const rowInfo = this.rowInfo(row);
      const modelInfo = this.modelInfo(model);
      if (!rowInfo || !modelInfo) return null;
      if (rowInfo.reference && (!modelInfo.available || !this.columnReady(model))) return null;
      return (this.entryFor(row, model) || {}).url || null;
    }

    columnReady(model) {
      return this.data.rows.some((r) => !r.reference && (this.data.cells[r.id] || {})[model]);
    }

    allUrls() {
      const urls = new Set();
      if (!this.data) return [];
      for (const row of this.data.rows) {
        for (const m of this.data.models) {
          const url = this.urlFor(row.id, m.name);
          if (url) urls.add(url);
        }
      }
      return [...urls];
    }
  }

  kit.TrackValue = TrackValue;
})((window.lincaePlayerKit = window.lincaePlayerKit || {}));
