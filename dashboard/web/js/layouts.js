// Wall layouts: the eight grids, and named layouts kept on the server per
// user (GET/PUT/DELETE /api/v1/layouts), so a wall PC comes back after a
// reboot as it was left.
import { api, el, L, notice } from './common.js';

export const LAYOUTS = {
  1: { label: '1', cls: 'g1', n: 1 },
  2: { label: '2×2', cls: 'g2', n: 4 },
  3: { label: '3×3', cls: 'g3', n: 9 },
  4: { label: '4×4', cls: 'g4', n: 16 },
  5: { label: '5×5', cls: 'g5', n: 25 },
  6: { label: '6×6', cls: 'g6', n: 36 },
  '1+5': { label: '1+5', cls: 'p5', n: 6 },
  '1+7': { label: '1+7', cls: 'p7', n: 8 },
};

export function tileCount(name) { return LAYOUTS[name]?.n || 9; }

export class Layouts {
  constructor({ apply, current }) {
    this.apply = apply;
    this.current = current;
    this.saved = [];
    this.active = '';
  }

  // load returns the layout in use when the wall was last left, if any.
  async load() {
    try {
      const r = await api('/api/v1/layouts');
      this.saved = r.layouts || [];
      this.active = r.current || '';
      this.render();
      return this.saved.find((x) => x.name === this.active) || null;
    } catch (e) {
      notice(e.message, true);
      return null;
    }
  }

  async save(name) {
    name = name.trim();
    if (!name) return;
    try {
      const body = { name, ...this.current() };
      const r = await api('/api/v1/layouts/' + encodeURIComponent(name), { method: 'PUT', body: JSON.stringify(body) });
      this.saved = r.layouts || [];
      this.active = r.current || name;
      this.render();
      notice(`${L('layoutSaved')}：${name}`);
    } catch (e) { notice(e.message, true); }
  }

  async use(name) {
    const s = this.saved.find((x) => x.name === name);
    if (!s) return;
    this.apply(s);
    // Using a layout makes it the one restored after a reboot.
    try {
      const r = await api('/api/v1/layouts/' + encodeURIComponent(name), { method: 'PUT', body: JSON.stringify(s) });
      this.active = r.current || name;
    } catch (e) { notice(e.message, true); }
  }

  async remove(name) {
    try {
      const r = await api('/api/v1/layouts/' + encodeURIComponent(name), { method: 'DELETE' });
      this.saved = r.layouts || [];
      this.active = r.current || '';
      this.render();
    } catch (e) { notice(e.message, true); }
  }

  controls() {
    const box = el('span', 'layouts');
    this.sel = el('select');
    this.sel.id = 'saved-layouts';
    this.sel.setAttribute('aria-label', L('savedLayouts'));
    this.sel.onchange = () => this.use(this.sel.value);
    const del = el('button', '', L('deleteLayout'));
    del.id = 'layout-delete';
    del.onclick = () => this.sel.value && this.remove(this.sel.value);
    const name = el('input');
    name.id = 'layout-name';
    name.placeholder = L('layoutName');
    name.maxLength = 40;
    name.setAttribute('aria-label', L('layoutName'));
    const save = el('button', '', L('saveLayout'));
    save.id = 'layout-save';
    save.onclick = () => { this.save(name.value || this.sel.value); name.value = ''; };
    name.onkeydown = (e) => { if (e.key === 'Enter') save.click(); };
    box.append(this.sel, del, name, save);
    this.render();
    return box;
  }

  render() {
    if (!this.sel) return;
    this.sel.replaceChildren(new Option(`${L('savedLayouts')}…`, ''), ...this.saved.map((s) => new Option(s.name, s.name)));
    this.sel.value = this.saved.some((s) => s.name === this.active) ? this.active : '';
  }
}
