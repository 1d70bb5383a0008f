// The camera tree: township → village → camera, with search and a state
// filter. Click a camera to put it on the focused tile, or drag it onto any
// tile; a township's or village's 轮巡 button tours its cameras.
import { el, L } from './common.js';

export class Tree {
  constructor(root, { topo, villages, cameras, connected, place, tour }) {
    Object.assign(this, { root, topo, villages, cameras, connected, place, tour });
    this.text = '';
    this.state = '';
    this.open = new Set();
    this.rows = new Map(); // camera id → button
    const head = el('div', 'tree-head');
    const h = el('h2', '', L('tree'));
    h.id = 'tree-title';
    root.setAttribute('aria-labelledby', 'tree-title');
    const search = el('input');
    search.type = 'search';
    search.id = 'tree-search';
    search.placeholder = L('treeSearch');
    search.setAttribute('aria-label', L('treeSearch'));
    search.oninput = () => { this.text = search.value.trim().toLowerCase(); this.render(); };
    const sel = el('select');
    sel.id = 'tree-state';
    sel.setAttribute('aria-label', L('stateFilter'));
    sel.append(new Option(L('all'), ''), ...['online', 'degraded', 'offline', 'maintenance', 'unknown'].map((s) => new Option(L(s), s)));
    sel.onchange = () => { this.state = sel.value; this.render(); };
    head.append(h, search, sel);
    this.list = el('div', 'tree-list');
    root.append(head, this.list);
  }

  stateOf(id) { return this.connected() ? (this.cameras.get(id)?.state || 'unknown') : 'unknown'; }

  match(id, t, v) {
    const c = this.cameras.get(id);
    if (!c) return false;
    if (this.state && this.stateOf(id) !== this.state) return false;
    if (!this.text) return true;
    return [c.name, id, v.name, t.name].some((s) => String(s || '').toLowerCase().includes(this.text));
  }

  render() {
    const out = [];
    this.rows.clear();
    const filtering = !!(this.text || this.state);
    for (const t of this.topo.townships) {
      const vs = [];
      let tIds = [];
      for (const v of t.villages) {
        const key = new Set(v.key_cameras || []);
        const ids = [...v.cameras].sort((a, b) => (key.has(b) ? 1 : 0) - (key.has(a) ? 1 : 0)).filter((id) => this.match(id, t, v));
        if (!ids.length) continue;
        tIds = tIds.concat(ids);
        const d = this.group('village', v.id, `${v.name}`, ids, filtering);
        for (const id of ids) d.append(this.cameraRow(id, key.has(id)));
        vs.push(this.wrap(d));
      }
      if (!vs.length) continue;
      const d = this.group('township', t.id, t.name, tIds, filtering);
      d.append(...vs);
      out.push(this.wrap(d));
    }
    if (!out.length) out.push(el('p', 'empty', '—'));
    this.list.replaceChildren(...out);
  }

  group(kind, id, name, ids, filtering) {
    const d = el('details', 'node ' + kind);
    d.open = filtering || this.open.has(kind + id);
    d.ontoggle = () => { if (!filtering) d.open ? this.open.add(kind + id) : this.open.delete(kind + id); };
    const s = el('summary');
    const off = ids.filter((x) => this.stateOf(x) === 'offline').length;
    s.append(el('span', 'nm', name), el('span', 'cnt', off ? `${ids.length} · ${L('offline')} ${off}` : String(ids.length)));
    // The tour button sits beside the summary, not in it: no control
    // inside another.
    const tb = el('button', 'mini tourbtn', L('tour'));
    tb.type = 'button';
    tb.title = `${name} ${L('tour')}`;
    tb.dataset.tour = id;
    tb.onclick = () => this.tour(name, ids, Number(document.getElementById('tour-every')?.value || 20));
    d.append(s);
    d.tourButton = tb;
    return d;
  }

  wrap(d) {
    const w = el('div', 'node-wrap');
    w.append(d.tourButton, d);
    return w;
  }

  cameraRow(id, key) {
    const c = this.cameras.get(id);
    const b = el('button', 'cam');
    b.type = 'button';
    b.draggable = true;
    b.dataset.camera = id;
    const st = this.stateOf(id);
    b.append(el('span', `dot ${st}`), el('span', 'nm', (key ? '★ ' : '') + (c?.name || id)), el('span', 'st', L(st)));
    b.title = `${c?.name || id} (${id})`;
    b.onclick = () => this.place(id);
    b.ondragstart = (e) => { e.dataTransfer.setData('text/x-camera', id); e.dataTransfer.effectAllowed = 'copy'; };
    this.rows.set(id, b);
    return b;
  }

  update(id) {
    const b = this.rows.get(id);
    if (!b || this.state) { this.render(); return; }
    const st = this.stateOf(id);
    b.querySelector('.dot').className = `dot ${st}`;
    b.querySelector('.st').textContent = L(st);
  }
}
