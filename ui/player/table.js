/*
 * The table view: rows are latent operations, columns are models; a cell plays on click (or Enter / Space when
 * focused). It renders what the player value says and marks the selected and the playing cell.
 */
(function (kit) {
  "use strict";

  const h = kit.h;

  /** A registry reason without its how-to for owners ("weights not reachable offline (set …)" → the first part). */
  function plainReason(reason) {
    return (reason || "not available").split(" (")[0];
  }

  class TableView {
    /** `hooks`: urlFor(row, model), isLoaded(url), activate(row, model) for a click or Enter on a cell. */
    constructor(hooks) {
      this.hooks = hooks;
      this.element = h("div", { class: "lc-table-wrap" });
      this.data = null;
    }

    /** Playable models get a column each; the others share one compact column that says why, without hover. */
    render(data) {
      this.data = data;
      if (!data) {
        this.element.replaceChildren(h("p", { class: "lc-empty", text: "No track loaded." }));
        return;
      }
      const shown = data.models.filter((m) => m.available);
      const folded = data.models.filter((m) => !m.available);
      const head = h("tr", {}, h("th", { scope: "col", class: "lc-op", text: "Operation" }));
      shown.forEach((m, i) => head.append(this.renderHeader(m, i)));
      if (folded.length) {
        head.append(h("th", { scope: "col", class: "lc-folded-head", text: "Not playable here" }));
      }
      const body = h("tbody");
      data.rows.forEach((row, i) => {
        const tr = h("tr", { "data-row": row.id, class: row.reference ? "lc-reference" : "" }, this.renderRowHead(row));
        for (const m of shown) tr.append(this.renderCell(row, m));
        if (folded.length && i === 0) tr.append(this.renderFolded(folded, data.rows.length));
        body.append(tr);
      });
      this.element.replaceChildren(h("table", { class: "lc-table" }, h("thead", {}, head), body));
    }

    renderRowHead(row) {
      const th = h(
        "th",
        { scope: "row", class: "lc-op", title: row.formula },
        h("span", { class: "lc-row-label", text: row.label }),
      );
      if (this.data.try_first === row.id) {
        th.append(h("span", { class: "lc-try", text: "try this first" }));
      }
      th.append(h("span", { class: "lc-formula", text: row.formula }));
      return th;
    }

    renderHeader(m, i) {
      const th = h(
        "th",
        {
          scope: "col",
          class: `lc-model${m.linear ? " lc-linear" : ""}`,
          "data-model": m.name,
          title: m.description || m.display_name,
        },
        h("span", { class: "lc-model-name", text: m.display_name.split(" (")[0] }),
        m.origin ? h("span", { class: "lc-origin", text: m.origin }) : null,
      );
      if (m.linear) th.append(h("span", { class: "lc-badge", text: "linear", title: "trained for a linear latent space" }));
      if (i < 9) th.append(h("kbd", { text: String(i + 1), title: `Key ${i + 1}` }));
      return th;
    }

    /** One cell spanning every row: each model that cannot play here, and why, in plain words. */
    renderFolded(models, rows) {
      const list = h("ul", { class: "lc-folded-list" });
      for (const m of models) {
        list.append(h(
          "li",
          { "data-model": m.name, title: m.reason || "" },
          h("span", { class: "lc-folded-name", text: m.display_name.split(" (")[0] }),
          h("span", { class: "lc-folded-reason", text: plainReason(m.reason) }),
        ));
      }
      return h("td", { class: "lc-folded", rowspan: rows }, list);
    }

    renderCell(row, model) {
      const attrs = { class: "lc-cell", "data-row": row.id, "data-model": model.name };
      if (!this.hooks.urlFor(row.id, model.name)) {
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
      td.addEventListener("click", () => this.hooks.activate(row.id, model.name));
      td.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") {
          ev.preventDefault();
          this.hooks.activate(row.id, model.name);
        }
      });
      return td;
    }

    /** Mark the selected cell (its row and column too) and whether it plays. */
    refresh(row, model, playing) {
      for (const td of this.element.querySelectorAll("td.lc-cell")) {
        const selected = td.dataset.row === row && td.dataset.model === model;
        td.classList.toggle("lc-selected", selected);
        td.classList.toggle("lc-playing", selected && playing);
        if (td.getAttribute("role") === "button") {
          td.setAttribute("aria-pressed", String(selected && playing));
          td.classList.toggle("lc-loading", !this.hooks.isLoaded(this.hooks.urlFor(td.dataset.row, td.dataset.model)));
        }
      }
      for (const th of this.element.querySelectorAll("th.lc-model")) {
        th.classList.toggle("lc-selected", th.dataset.model === model);
      }
      for (const tr of this.element.querySelectorAll("tbody tr")) {
        tr.classList.toggle("lc-selected", tr.dataset.row === row);
      }
    }

    cellElement(row, model) {
      return this.element.querySelector(`td.lc-cell[data-row="${CSS.escape(row)}"][data-model="${CSS.escape(model)}"]`);
    }
  }

  kit.TableView = TableView;
})((window.lincaePlayerKit = window.lincaePlayerKit || {}));
