/*
 * The table view: rows are latent operations, columns are models; a cell plays on click (or Enter / Space when
 * focused). It renders what the player value says and marks the selected and the playing cell.
 */
(function (kit) {
  "use strict";

  const h = kit.h;

  class TableView {
    /** `hooks`: urlFor(row, model), isLoaded(url), activate(row, model) for a click or Enter on a cell. */
    constructor(hooks) {
      this.hooks = hooks;
      this.element = h("div", { class: "lc-table-wrap" });
      this.data = null;
    }

    render(data) {
      this.data = data;
      if (!data) {
        this.element.replaceChildren(h("p", { class: "lc-empty", text: "No track loaded." }));
        return;
      }
      const head = h("tr", {}, h("th", { scope: "col", class: "lc-op", text: "Operation" }));
      data.models.forEach((m, i) => head.append(this.renderHeader(m, i)));
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
      this.element.replaceChildren(h("table", { class: "lc-table" }, h("thead", {}, head), body));
    }

    renderHeader(m, i) {
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
      return th;
    }

    renderCell(row, model) {
      const attrs = { class: "lc-cell", "data-row": row.id, "data-model": model.name };
      if (!model.available) {
        return h("td", { ...attrs, class: "lc-cell lc-na", "aria-disabled": "true", title: model.reason || "not available" }, "N/A");
      }
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
