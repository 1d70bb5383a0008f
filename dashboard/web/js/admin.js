// The accounts page (账号管理): API keys and wall screens (the county's
// operators see only those), and every account, the hub's and the
// configuration's. The system administrator creates one (its temporary
// password shown once), re-scopes, disables and resets it; the security
// administrator sees the list (phones masked) and lifts login locks. The
// hub decides who may do what; the page offers what the role is given.
import { api, el, L, boot, roleName, notice, clock } from './common.js';

let me = null, topo = null;
const main = document.getElementById('main');

// roles an account kept by the hub may have, in the order a county names them.
const roles = ['township', 'village', 'department', 'operator', 'technician', 'display', 'admin', 'security_admin', 'auditor'];
const scopeOf = { township: 'township', village: 'village', department: 'department' };

function scopeChoices(role) {
  switch (scopeOf[role]) {
    case 'township': return (topo?.townships || []).map((t) => [t.id, t.name]);
    case 'village': return (topo?.townships || []).flatMap((t) => (t.villages || []).map((v) => [v.id, `${t.name} ${v.name}`]));
    case 'department': return (topo?.departments || []).map((d) => [d.id, d.name]);
  }
  return [];
}

function scopeText(a) {
  if (a.township) return topo?.townships?.find((t) => t.id === a.township)?.name || a.township;
  if (a.village) {
    for (const t of topo?.townships || []) {
      const v = (t.villages || []).find((x) => x.id === a.village);
      if (v) return `${t.name} ${v.name}`;
    }
    return a.village;
  }
  if (a.department) return topo?.departments?.find((d) => d.id === a.department)?.name || a.department;
  return L('noScope');
}

function labelled(text, input) {
  const lab = el('label', '', text);
  lab.append(input);
  return lab;
}

// showPassword tells the temporary password once, in a dialog the
// administrator closes when they have noted it.
function showPassword(name, pw) { showSecret(name, L('tempPassword'), pw); }

function showSecret(name, what, pw) {
  const d = el('dialog');
  d.id = 'temp-password';
  d.setAttribute('aria-labelledby', 'temp-password-title');
  const h = el('h2', '', `${name}：${what}`);
  h.id = 'temp-password-title';
  const code = el('code', 'temp', pw);
  code.id = 'temp-password-value';
  const ok = el('button', 'primary', L('copied'));
  ok.onclick = () => { d.close(); d.remove(); };
  d.append(h, code, el('div', 'row'));
  d.lastChild.append(ok);
  document.body.append(d);
  d.showModal();
}

function createForm() {
  const p = el('section', 'panel');
  p.append(el('h2', '', L('newAccount')));
  const f = el('form', 'form');
  f.id = 'account-form';
  const name = el('input'); name.id = 'acc-name'; name.required = true; name.autocomplete = 'off';
  name.pattern = '[a-z][a-z0-9_.\\-]{1,63}';
  const disp = el('input'); disp.id = 'acc-display'; disp.maxLength = 64;
  const role = el('select'); role.id = 'acc-role';
  for (const r of roles) role.append(new Option(roleName(r), r));
  const scope = el('select'); scope.id = 'acc-scope';
  const scopeLab = labelled(L('scope'), scope);
  const phone = el('input'); phone.id = 'acc-phone'; phone.type = 'tel'; phone.autocomplete = 'off';
  const fill = () => {
    const choices = scopeChoices(role.value);
    scope.replaceChildren(...choices.map(([id, n]) => new Option(n, id)));
    scopeLab.hidden = choices.length === 0 && !scopeOf[role.value];
  };
  role.onchange = fill;
  fill();
  const go = el('button', 'primary', L('create')); go.type = 'submit';
  const status = el('p', 'status'); status.id = 'account-status'; status.setAttribute('role', 'status');
  f.append(labelled(L('accName'), name), labelled(L('displayName'), disp), labelled(L('role'), role), scopeLab,
    labelled(L('phone'), phone), go, status);
  f.onsubmit = async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), display_name: disp.value.trim(), role: role.value, phone: phone.value.trim() };
    if (scopeOf[role.value]) body[scopeOf[role.value]] = scope.value;
    go.disabled = true;
    try {
      const r = await api('/api/v1/accounts', { method: 'POST', body: JSON.stringify(body) });
      status.textContent = `${L('created')}：${r.account.name}`;
      f.reset(); fill();
      showPassword(r.account.name, r.initial_password);
      await load();
    } catch (e) {
      status.textContent = e.message;
    } finally {
      go.disabled = false;
    }
  };
  p.append(f);
  return p;
}

async function act(path, body, done) {
  try {
    const del = path.endsWith('/lock') || path.endsWith('/totp');
    const r = await api(path, { method: del ? 'DELETE' : 'POST', ...(body ? { body: JSON.stringify(body) } : {}) });
    if (done) done(r);
    await load();
  } catch (e) {
    notice(e.message, true);
  }
}

function row(a) {
  const tr = el('tr');
  tr.dataset.name = a.name;
  const state = [L('state_' + a.state) || a.state];
  if (a.must_change_password) state.push(L('mustChange'));
  if (a.second_factor) state.push(L('twoFactor'));
  if (a.locked_until) state.push(`${L('lockedUntil')} ${clock(a.locked_until, true)}`);
  tr.append(el('td', '', a.name), el('td', '', a.display_name || ''), el('td', '', roleName(a.role)), el('td', '', scopeText(a)),
    el('td', '', a.phone || ''), el('td', 'acc-state', state.join(' · ')), el('td', '', L('source_' + a.source)));
  const td = el('td', 'actions');
  const enc = encodeURIComponent(a.name);
  const button = (key, cls, f) => { const b = el('button', cls, L(key)); b.dataset.act = key; b.onclick = f; td.append(b); };
  if (me.role === 'admin' && a.source === 'hub' && a.name !== me.name) {
    if (a.state === 'active') button('disable', 'danger', () => confirm(L('confirmDisable')) && act(`/api/v1/accounts/${enc}/state`, { state: 'disabled' }));
    else button('enable', '', () => act(`/api/v1/accounts/${enc}/state`, { state: 'active' }));
    button('resetPassword', '', () => act(`/api/v1/accounts/${enc}/reset-password`, null, (r) => showPassword(a.name, r.initial_password)));
  }
  if (me.role === 'security_admin' && a.locked_until) button('unlock', '', () => act(`/api/v1/accounts/${enc}/lock`));
  if (me.role === 'security_admin' && a.second_factor) {
    button('resetFactor', '', () => confirm(L('confirmResetFactor')) && act(`/api/v1/accounts/${enc}/totp`));
  }
  tr.append(td);
  return tr;
}

let tbody = null;
async function load() {
  const { accounts } = await api('/api/v1/accounts');
  tbody.replaceChildren(...accounts.map(row));
}

// keyPanel lists API keys (kind 'keys', the admin's and the security
// administrator's) or wall screens (kind 'displays', the county's), with a
// form to make one when the role may, and revocation.
function keyPanel(kind) {
  const p = el('section', 'panel');
  p.id = kind + '-panel';
  p.append(el('h2', '', L(kind === 'keys' ? 'apiKeys' : 'displays')));
  const may = kind === 'displays' || me.role === 'admin';
  if (may) {
    const f = el('form', 'form');
    f.id = kind + '-form';
    const note = el('input'); note.id = kind + '-note'; note.required = true; note.maxLength = 128;
    note.placeholder = L(kind === 'keys' ? 'keyNoteHint' : 'displayNoteHint');
    f.append(labelled(L('keyNote'), note));
    let role = null, scope = null, fill = () => {};
    if (kind === 'keys') {
      role = el('select'); role.id = 'keys-role';
      for (const r of roles.filter((x) => x !== 'display')) role.append(new Option(roleName(r), r));
      scope = el('select'); scope.id = 'keys-scope';
      fill = () => scope.replaceChildren(...scopeChoices(role.value).map(([id, n]) => new Option(n, id)));
      role.onchange = fill;
      fill();
      f.append(labelled(L('role'), role), labelled(L('scope'), scope));
    }
    const go = el('button', 'primary', L('create')); go.type = 'submit';
    const status = el('p', 'status'); status.id = kind + '-status'; status.setAttribute('role', 'status');
    f.append(go, status);
    f.onsubmit = async (ev) => {
      ev.preventDefault();
      const body = { note: note.value.trim() };
      if (role) { body.role = role.value; if (scopeOf[role.value]) body[scopeOf[role.value]] = scope.value; }
      try {
        const r = await api('/api/v1/' + kind, { method: 'POST', body: JSON.stringify(body) });
        f.reset(); fill();
        showSecret(r.key.note, L('keyShown'), r.token);
        await loadKeys(kind);
      } catch (e) {
        status.textContent = e.message;
      }
    };
    p.append(f);
  }
  const wrap = el('div', 'scroll');
  const table = el('table');
  table.id = kind + '-table';
  const head = el('tr');
  for (const k of ['keyNote', 'role', 'scope', 'keyCreated', 'keyLastUsed', 'accState', '']) head.append(el('th', '', k ? L(k) : ''));
  table.append(el('thead'), el('tbody'));
  table.firstChild.append(head);
  wrap.append(table);
  p.append(wrap);
  return p;
}

async function loadKeys(kind) {
  const body = await api('/api/v1/' + kind);
  const tbody = document.querySelector(`#${kind}-table tbody`);
  tbody.replaceChildren(...body[kind].map((k) => {
    const tr = el('tr');
    tr.dataset.id = k.id;
    const state = k.revoked ? `${L('keyRevoked')} ${clock(k.revoked, true)}` : k.expires && new Date(k.expires) <= Date.now() ? L('keyExpired') : L('state_active');
    tr.append(el('td', '', k.note), el('td', '', roleName(k.role)), el('td', '', scopeText(k)),
      el('td', '', `${clock(k.created, true)} · ${k.created_by}`), el('td', '', k.last_used ? clock(k.last_used, true) : '—'), el('td', 'key-state', state));
    const td = el('td', 'actions');
    if (!k.revoked) {
      const b = el('button', 'danger', L('revoke'));
      b.dataset.act = 'revoke';
      b.onclick = () => confirm(L('confirmRevoke')) && api(`/api/v1/${kind}/${encodeURIComponent(k.id)}`, { method: 'DELETE' })
        .then(() => loadKeys(kind)).catch((e) => notice(e.message, true));
      td.append(b);
    }
    tr.append(td);
    return tr;
  }));
}

async function start() {
  document.title = `${L('accountsTitle')} · snowhub`;
  document.getElementById('title').textContent = L('accountsTitle');
  const b = await boot('accounts');
  if (!b) return;
  ({ me, topo } = b);
  if (me.role === 'operator') {
    document.title = `${L('displays')} · snowhub`;
    document.getElementById('title').textContent = L('displays');
  }
  if (me.role === 'admin' || me.role === 'security_admin') {
    const list = el('section', 'panel');
    list.append(el('h2', '', L('accounts')));
    const wrap = el('div', 'scroll');
    const table = el('table');
    table.id = 'accounts-table';
    const head = el('tr');
    for (const k of ['accName', 'displayName', 'role', 'scope', 'phone', 'accState', 'source', '']) head.append(el('th', '', k ? L(k) : ''));
    tbody = el('tbody');
    table.append(el('thead'), tbody);
    table.firstChild.append(head);
    wrap.append(table);
    list.append(wrap);
    if (me.role === 'admin') main.append(createForm());
    main.append(list, keyPanel('keys'));
  }
  if (me.role === 'admin' || me.role === 'operator') main.append(keyPanel('displays'));
  try {
    if (tbody) await load();
    if (document.getElementById('keys-panel')) await loadKeys('keys');
    if (document.getElementById('displays-panel')) await loadKeys('displays');
  } catch (e) {
    notice(e.message, true);
  }
}

start();
