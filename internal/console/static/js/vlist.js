// A virtual list: a scrolling element that holds any number of rows but
// puts in the page only those in view (plus a few either side), so that
// twenty thousand events scroll as smoothly as twenty.
//
// Rows have one height (measured from the first row rendered, again when
// the viewport's width changes, since narrow screens wrap a row onto two
// lines), except the one expanded row, whose height is measured after it
// is rendered. The caller owns the items array and tells the list when it
// changed (set, prepended); the list owns the DOM under its viewport.
//
// Keyboard: the viewport is one tab stop (role listbox); ↑/↓ (or k/j),
// Page Up/Down, Home/End move the active row, Enter or Space expands or
// collapses it, Escape collapses.

const overscan = 8;

export class VirtualList {
  /**
   * viewport: the scrolling element (its height set by CSS).
   * render(item, {expanded}): the row's element (an <li>).
   * key(item): a stable id for the row (used for its element id).
   */
  constructor({ viewport, render, key, label = 'rows' }) {
    this.viewport = viewport;
    this.renderRow = render;
    this.key = key;
    this.items = [];
    this.rowHeight = 0;
    this.expandedItem = null;
    this.expandedExtra = 0;
    this.active = -1;
    this.frame = 0;
    this.width = 0;
    this.lastRender = 0; // ms the last render took, for the tests' log

    viewport.setAttribute('role', 'listbox');
    viewport.setAttribute('aria-label', label);
    viewport.tabIndex = 0;
    this.sizer = document.createElement('ul');
    this.sizer.className = 'vlist-sizer';
    this.sizer.setAttribute('role', 'presentation');
    viewport.replaceChildren(this.sizer);

    viewport.addEventListener('scroll', () => this.refresh());
    viewport.addEventListener('keydown', (ev) => this.onKey(ev));
    viewport.addEventListener('click', (ev) => this.onClick(ev));
    new ResizeObserver(() => {
      if (viewport.clientWidth !== this.width) {
        this.width = viewport.clientWidth;
        this.rowHeight = 0; // measured again
      }
      this.refresh();
    }).observe(viewport);
  }

  /** set replaces the items (a new list starts at the top). */
  set(items) {
    this.items = items;
    this.expandedItem = null;
    this.active = items.length ? 0 : -1;
    this.viewport.scrollTop = 0;
    this.refresh();
  }

  /**
   * prepended says that n items were added at the front of the array. A
   * reader scrolled down keeps the rows they look at in place.
   */
  prepended(n) {
    if (n <= 0) return;
    if (this.active >= 0) this.active += n;
    else this.active = 0;
    if (this.viewport.scrollTop > 0 && this.rowHeight) this.viewport.scrollTop += n * this.rowHeight;
    this.refresh();
  }

  /** trimmed says that items were removed from the end. */
  trimmed() {
    if (this.active >= this.items.length) this.active = this.items.length - 1;
    if (this.expandedItem && this.index(this.expandedItem) < 0) this.expandedItem = null;
    this.refresh();
  }

  /** refresh renders at the next frame (several changes in one frame render once). */
  refresh() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  index(item) {
    return item ? this.items.indexOf(item) : -1;
  }

  // offset is where row i starts.
  offset(i, expanded) {
    return i * this.rowHeight + (expanded >= 0 && i > expanded ? this.expandedExtra : 0);
  }

  // at is the row at vertical position y.
  at(y, expanded) {
    const h = this.rowHeight;
    if (expanded >= 0 && y >= this.offset(expanded + 1, expanded)) {
      return Math.floor((y - this.expandedExtra) / h);
    }
    if (expanded >= 0 && y >= expanded * h) return expanded;
    return Math.floor(y / h);
  }

  render() {
    const t0 = performance.now();
    const vp = this.viewport;
    if (!vp.clientHeight) return; // hidden: rendered when shown
    if (!this.rowHeight) this.measure();
    const h = this.rowHeight;
    const n = this.items.length;
    const expanded = this.index(this.expandedItem);
    if (expanded < 0) this.expandedItem = null;
    const total = n * h + (expanded >= 0 ? this.expandedExtra : 0);
    this.sizer.style.height = `${total}px`;
    const first = Math.max(0, this.at(vp.scrollTop, expanded) - overscan);
    const last = Math.min(n - 1, this.at(vp.scrollTop + vp.clientHeight, expanded) + overscan);
    const rows = [];
    for (let i = first; i <= last; i++) {
      const item = this.items[i];
      const row = this.renderRow(item, { expanded: i === expanded });
      row.id = `row-${this.key(item)}`;
      row.setAttribute('role', 'option');
      row.setAttribute('aria-selected', String(i === this.active));
      row.setAttribute('aria-expanded', String(i === expanded));
      row.dataset.index = String(i);
      row.classList.add('vrow');
      row.classList.toggle('active', i === this.active);
      row.style.transform = `translateY(${this.offset(i, expanded)}px)`;
      rows.push(row);
    }
    this.sizer.replaceChildren(...rows);
    if (expanded >= 0) {
      const row = expanded >= first && expanded <= last ? rows[expanded - first] : null;
      const extra = row ? row.offsetHeight - h : this.expandedExtra;
      if (extra !== this.expandedExtra) {
        this.expandedExtra = extra;
        this.refresh(); // the rows below it move down
      }
    }
    if (this.active >= 0 && this.active <= n - 1) {
      vp.setAttribute('aria-activedescendant', `row-${this.key(this.items[this.active])}`);
    } else {
      vp.removeAttribute('aria-activedescendant');
    }
    this.lastRender = performance.now() - t0;
  }

  // measure takes the row height from a rendered row.
  measure() {
    const probe = this.items[0] ? this.renderRow(this.items[0], { expanded: false }) : document.createElement('li');
    probe.classList.add('vrow');
    probe.style.visibility = 'hidden';
    if (!this.items[0]) probe.textContent = 'x';
    this.sizer.append(probe);
    this.rowHeight = probe.offsetHeight || 24;
    probe.remove();
  }

  /** toggle expands item, or collapses it if it is expanded. */
  toggle(item) {
    this.expandedItem = this.expandedItem === item ? null : item;
    this.expandedExtra = 0;
    this.render();
  }

  moveTo(i) {
    const n = this.items.length;
    if (!n) return;
    this.active = Math.max(0, Math.min(n - 1, i));
    const vp = this.viewport;
    const expanded = this.index(this.expandedItem);
    const top = this.offset(this.active, expanded);
    const bottom = top + this.rowHeight + (this.active === expanded ? this.expandedExtra : 0);
    if (top < vp.scrollTop) vp.scrollTop = top;
    else if (bottom > vp.scrollTop + vp.clientHeight) vp.scrollTop = bottom - vp.clientHeight;
    this.render();
  }

  onKey(ev) {
    if (ev.target !== this.viewport) return; // typing in an expanded row's controls
    const page = Math.max(1, Math.floor(this.viewport.clientHeight / (this.rowHeight || 24)) - 1);
    const moves = {
      ArrowDown: 1, j: 1, ArrowUp: -1, k: -1, PageDown: page, PageUp: -page,
    };
    if (ev.key in moves) this.moveTo(this.active + moves[ev.key]);
    else if (ev.key === 'Home') this.moveTo(0);
    else if (ev.key === 'End') this.moveTo(this.items.length - 1);
    else if (ev.key === 'Enter' || ev.key === ' ') {
      if (this.active >= 0) this.toggle(this.items[this.active]);
    } else if (ev.key === 'Escape' && this.expandedItem) this.toggle(this.expandedItem);
    else return;
    ev.preventDefault();
  }

  onClick(ev) {
    // Clicks in the expanded data (selecting text to copy) do not collapse it.
    if (ev.target.closest('.detail')) return;
    const row = ev.target.closest('.vrow');
    if (!row) return;
    const i = Number(row.dataset.index);
    this.active = i;
    this.toggle(this.items[i]);
    this.viewport.focus({ preventScroll: true });
  }
}
