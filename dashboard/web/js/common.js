// Shared by every page: the token, the API, the websocket with resume, and
// everything a person reads: labels, durations, clock times, history steps,
// camera causes and API errors, Chinese first (English on the toggle).
import { labels, causes, errorPatterns, systemNotes } from './i18n.js';

const TOKEN_KEY = 'snowhub.token';

// The token is read once per page: a tab keeps the identity it was opened
// with even when another tab of the same browser signs in as someone else.
let current = null;
export function token() {
  if (current !== null) return current;
  const u = new URL(location.href);
  const t = u.searchParams.get('token');
  if (t) {
    localStorage.setItem(TOKEN_KEY, t);
    u.searchParams.delete('token');
    history.replaceState(null, '', u.pathname + u.search + u.hash);
  }
  current = t || localStorage.getItem(TOKEN_KEY) || '';
  return current;
}

// askToken replaces the page with the login box; a login reloads it.
export function askToken(message) {
  document.body.replaceChildren(loginBox(message, () => location.reload()));
}

// loginBox is how a person gets in: name and password (and the code of
// their authenticator app when the hub asks for it: 428), which opens a
// session the hub keeps in an HttpOnly cookie; or, folded away, an access
// token for a desk or a wall that still has one. done(me) runs after a
// login.
export function loginBox(message, done) {
  const box = el('main', 'panel login');
  const status = el('p', 'status', message || '');
  status.id = 'login-status';
  status.setAttribute('role', 'status');
  const field = (name, type, label, auto) => {
    const lab = el('label', '', L(label));
    const input = el('input');
    input.name = name;
    input.id = 'login-' + name;
    input.type = type;
    input.autocomplete = auto;
    lab.htmlFor = input.id;
    return [lab, input];
  };
  const form = el('form');
  form.id = 'login-form';
  const [ln, name] = field('name', 'text', 'userName', 'username');
  const [lp, pw] = field('password', 'password', 'password', 'current-password');
  const [lo, otp] = field('otp', 'text', 'otpLabel', 'one-time-code');
  otp.inputMode = 'numeric';
  lo.hidden = otp.hidden = true;
  name.required = pw.required = true;
  const go = el('button', 'primary', L('loginButton'));
  go.type = 'submit';
  form.append(ln, name, lp, pw, lo, otp, go);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    go.disabled = true;
    try {
      const res = await fetch('/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: name.value.trim(), password: pw.value, otp: otp.value.trim() }) });
      const body = await res.json().catch(() => ({}));
      if (res.ok) {
        localStorage.removeItem(TOKEN_KEY); // the session is who this browser is now
        current = '';
        // A temporary password, or a role that needs a second factor
        // without one: nothing else until that is done.
        const g = gate(body, pw.value, done);
        if (g) { document.body.replaceChildren(g); return; }
        done(body);
        return;
      }
      if (res.status === 428) {
        lo.hidden = otp.hidden = false;
        otp.focus();
        status.textContent = L('needOtp');
      } else if (res.status === 423) {
        status.textContent = `${L('locked')} ${clock(body.until, true)}`;
      } else if (res.status === 401) {
        status.textContent = L('wrongLogin');
      } else {
        status.textContent = errText(res.status, body.error);
      }
    } catch (e) {
      status.textContent = errText(0, e.message);
    } finally {
      go.disabled = false;
    }
  };
  const alt = el('details');
  alt.append(el('summary', '', L('useToken')));
  const [lt, tok] = field('token', 'password', 'tokenLabel', 'off');
  tok.id = 'token-input';
  lt.htmlFor = tok.id;
  const enter = el('button', '', L('enter'));
  enter.type = 'button';
  enter.onclick = () => { localStorage.setItem(TOKEN_KEY, tok.value.trim()); location.reload(); };
  alt.append(lt, tok, enter);
  box.append(el('h1', '', L('loginTitle')), status, form, alt, langToggle());
  return box;
}

// gate is what a session must do before anything else: change its
// temporary password, then enrol the second factor its role needs; null
// when nothing. Each box leads to the next, then to done(me).
export function gate(me, current, done) {
  const step = (m) => {
    const next = gate(m, '', done);
    if (next) document.body.replaceChildren(next); else done(m);
  };
  if (me?.session?.must_change_password) return passwordBox(me, current, step);
  if (me?.session?.must_enrol_second_factor) return factorBox(me, step);
  return null;
}

// factorBox enrols the person's second factor: a QR code (and its secret
// as text) for an authenticator app, the app's first code to confirm, then
// the ten recovery codes, shown once.
export function factorBox(me, done) {
  const box = el('main', 'panel login');
  box.id = 'factor-box';
  const status = el('p', 'status', L('enrolWhy'));
  status.id = 'factor-status';
  status.setAttribute('role', 'status');
  const qr = el('img');
  qr.id = 'factor-qr';
  qr.alt = L('enrolQrAlt');
  qr.width = qr.height = 240;
  const secret = el('code', 'temp');
  secret.id = 'factor-secret';
  const form = el('form');
  form.id = 'factor-form';
  const lab = el('label', '', L('otpLabel'));
  const code = el('input');
  code.id = 'factor-code'; code.inputMode = 'numeric'; code.autocomplete = 'one-time-code'; code.required = true;
  lab.htmlFor = code.id;
  const go = el('button', 'primary', L('enrolConfirm'));
  go.type = 'submit';
  form.append(lab, code, go);
  box.append(el('h1', '', L('enrolTitle')), status, el('p', 'hint', L('enrolScan')), qr, el('p', 'hint', L('enrolSecret')), secret, form, langToggle());
  (async () => {
    const res = await fetch('/api/v1/me/totp', { method: 'POST' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { status.textContent = errText(res.status, body.error); return; }
    qr.src = body.qr;
    secret.textContent = body.secret.replace(/(.{4})/g, '$1 ').trim();
    code.focus();
  })();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    go.disabled = true;
    try {
      const res = await fetch('/api/v1/me/totp/confirm', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: code.value.trim() }) });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) { status.textContent = errText(res.status, body.error); return; }
      const list = el('ol', 'codes');
      list.id = 'recovery-codes';
      for (const c of body.recovery_codes) list.append(el('li', '', c));
      const ok = el('button', 'primary', L('copied'));
      ok.id = 'recovery-done';
      ok.onclick = () => done(body.me);
      box.replaceChildren(el('h1', '', L('recoveryTitle')), el('p', 'status', L('recoveryNote')), list, ok);
      ok.focus();
    } catch (e) {
      status.textContent = errText(0, e.message);
    } finally {
      go.disabled = false;
    }
  };
  return box;
}

// passwordBox changes the person's own password: the temporary one of a
// first login (current given, the box asks only for the new one) or, from
// the header, any time. done(me) runs after the change.
export function passwordBox(me, current, done) {
  const box = el('main', 'panel login');
  box.id = 'password-box';
  const status = el('p', 'status', current ? L('changePasswordFirst') : '');
  status.id = 'password-status';
  status.setAttribute('role', 'status');
  const form = el('form');
  form.id = 'password-form';
  const field = (id, label, auto) => {
    const lab = el('label', '', L(label));
    const input = el('input');
    input.id = id;
    input.type = 'password';
    input.autocomplete = auto;
    input.required = true;
    lab.htmlFor = id;
    form.append(lab, input);
    return input;
  };
  const user = el('input');
  user.type = 'text'; user.autocomplete = 'username'; user.value = me?.name || ''; user.hidden = true; // for the browser's password manager
  form.append(user);
  const cur = current ? null : field('password-current', 'currentPassword', 'current-password');
  const nw = field('password-new', 'newPassword', 'new-password');
  const again = field('password-again', 'newPassword2', 'new-password');
  form.append(el('p', 'hint', L('passwordRule')));
  const go = el('button', 'primary', L('changePassword'));
  go.type = 'submit';
  form.append(go);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    if (nw.value !== again.value) { status.textContent = L('passwordMismatch'); return; }
    go.disabled = true;
    try {
      const res = await fetch('/api/v1/me/password', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ current: current || cur.value, new: nw.value }) });
      const body = await res.json().catch(() => ({}));
      if (res.ok) { status.textContent = L('passwordChanged'); done(body); return; }
      status.textContent = errText(res.status, body.error);
    } catch (e) {
      status.textContent = errText(0, e.message);
    } finally {
      go.disabled = false;
    }
  };
  box.append(el('h1', '', L('changePassword')), status, form, langToggle());
  setTimeout(() => (cur || nw).focus(), 0);
  return box;
}

// logout ends the session and goes to the login page.
async function logout() {
  try { await fetch('/api/v1/logout', { method: 'POST' }); } catch { /* the page goes anyway */ }
  location.assign('/login');
}

// ApiError carries the status and the server's reason; its message is what
// a person reads (Chinese first).
export class ApiError extends Error {
  constructor(status, reason) {
    super(errText(status, reason));
    this.status = status;
    this.reason = reason;
  }
}

export async function api(path, opts = {}) {
  // Without a token the browser's session cookie speaks for the page.
  const headers = { ...(token() ? { Authorization: 'Bearer ' + token() } : {}), ...(opts.body ? { 'Content-Type': 'application/json' } : {}) };
  let res;
  try {
    res = await fetch(path, { ...opts, headers });
  } catch (e) {
    throw new ApiError(0, e.message);
  }
  if (res.status === 401) { askToken(token() ? L('badToken') : ''); throw new ApiError(401, 'unauthorized'); }
  const body = res.headers.get('Content-Type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, body?.error || res.statusText);
  return body;
}

// el builds an element; text is set with textContent, never as HTML.
export function el(tag, cls = '', text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// backoff gives the next reconnect delay: doubling from half a second,
// capped near 4 s with ±25 % jitter (3–5 s), so a wall is back within
// seconds of a hub restart and a county's walls do not reconnect in step.
export function backoff(attempt) {
  const base = Math.min(500 * 2 ** attempt, 4000);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

// connect keeps a websocket open for ever: it resumes after the last
// sequence number it saw and shows an overlaid banner while the connection
// is lost. onState(connected) lets the page grey what it can no longer vouch for.
// The hubs of a prefecture, on a view hub: an owner whose last will came is
// unreachable; its townships' cameras and incidents keep their last known
// state (not "offline", not gone), and every live page says so in a banner.
const hubStates = new Map();
let townshipNames = {};

// hubDown is the unreachable hub that owns township, or null.
export function hubDown(township) {
  for (const h of hubStates.values()) if (h.state === 'unreachable' && (h.townships || []).includes(township)) return h;
  return null;
}

// hubDownText says which townships' hub is unreachable since when.
export function hubDownText(h) {
  const names = (h.townships || []).map((id) => townshipNames[id] || id).join('、');
  return lang() === 'en'
    ? `Hub ${h.id} (${names}) unreachable since ${clock(h.since, true)}: its cameras and incidents show their last known state; actions on them wait`
    : `${names} 所属中心 ${h.id} 自 ${clock(h.since, true)} 不可达：其摄像机与事件为最后已知状态，相关操作暂不能执行`;
}

function trackHubs(m) {
  if (m.type === 'snapshot') {
    hubStates.clear();
    for (const h of m.data.hubs || []) hubStates.set(h.id, h);
  } else if (m.type === 'hub') {
    hubStates.set(m.data.id, m.data);
  } else return;
  let b = document.getElementById('hubs');
  if (!b) {
    b = el('div', 'banner hubs');
    b.id = 'hubs';
    b.setAttribute('role', 'status');
    document.body.prepend(b);
  }
  const down = [...hubStates.values()].filter((h) => h.state === 'unreachable');
  b.textContent = down.map(hubDownText).join('；');
  b.classList.toggle('show', down.length > 0);
}

export function connect(onMessage, onState = () => {}) {
  let last = 0, epoch = 0, attempt = 0, lostAt = null;
  const banner = document.getElementById('banner');
  const lost = () => {
    if (!lostAt) {
      lostAt = new Date();
      document.body.classList.add('disconnected');
      onState(false);
    }
    if (banner) {
      banner.textContent = `${L('lost')} ${clock(lostAt, true)} · ${L('reconnecting')}`;
      banner.classList.add('show');
    }
  };
  const open = () => {
    const q = new URLSearchParams({ token: token() });
    if (last > 0) q.set('since', String(last));
    if (epoch > 0) q.set('epoch', String(epoch)); // another hub process answers with a snapshot
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?' + q);
    ws.onopen = () => { attempt = 0; };
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'snapshot' || m.epoch !== epoch || m.seq > last) { last = m.seq; epoch = m.epoch || 0; }
      if (lostAt || m.type === 'snapshot') {
        lostAt = null;
        banner?.classList.remove('show');
        document.body.classList.remove('disconnected');
      }
      trackHubs(m);
      onMessage(m);
      if (m.type === 'snapshot') onState(true);
    };
    ws.onclose = (e) => {
      if (e.code === 4001) { askToken(L('sessionEnded')); return; } // the session ended: log in again
      lost();
      setTimeout(open, backoff(attempt++));
    };
  };
  open();
}

// lang is zh or en: the toggle's choice, or ?lang= in the address (a wall
// PC's start-up link).
export function lang() {
  const q = typeof location !== 'undefined' ? new URLSearchParams(location.search).get('lang') : null;
  if (q === 'zh' || q === 'en') localStorage.setItem('snowhub.lang', q);
  return localStorage.getItem('snowhub.lang') || 'zh';
}

export function L(key) {
  return labels[lang()]?.[key] ?? labels.zh[key] ?? key;
}

export function langToggle() {
  const b = el('button', 'lang', L('lang'));
  b.title = L('langAria');
  b.lang = lang() === 'zh' ? 'en' : 'zh-CN';
  b.onclick = () => {
    localStorage.setItem('snowhub.lang', lang() === 'zh' ? 'en' : 'zh');
    location.reload();
  };
  return b;
}

// dur writes a span of seconds the way people say it: 4分46秒, 2小时5分, 3天2小时.
export function dur(sec) {
  sec = Math.max(0, Math.floor(sec));
  const d = Math.floor(sec / 86400), h = Math.floor((sec % 86400) / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  const zh = lang() === 'zh';
  const u = zh ? { d: '天', h: '小时', m: '分', s: '秒' } : { d: 'd ', h: 'h ', m: 'm ', s: 's' };
  let out;
  if (d > 0) out = `${d}${u.d}${h ? h + u.h : ''}`;
  else if (h > 0) out = `${h}${u.h}${m ? m + u.m : ''}`;
  else if (m > 0) out = `${m}${u.m}${s}${u.s}`;
  else out = `${s}${u.s}`;
  return out.trim();
}

// goDur reads a Go duration ("1h2m3.5s", as the hub writes late_by) and
// writes it as dur does; anything else is returned as it is.
export function goDur(v) {
  const m = String(v || '').match(/^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:([\d.]+)ms)?$/);
  if (!m || !v) return v || '';
  return dur((+m[1] || 0) * 3600 + (+m[2] || 0) * 60 + (+m[3] || 0) + (+m[4] || 0) / 1000);
}

// ago: 刚刚, 2分钟前, 3小时前, 2天前.
export function ago(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  const zh = lang() === 'zh';
  if (s < 10) return zh ? '刚刚' : 'just now';
  if (s < 60) return zh ? `${Math.floor(s)}秒前` : `${Math.floor(s)} s ago`;
  if (s < 3600) return zh ? `${Math.floor(s / 60)}分钟前` : `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return zh ? `${Math.floor(s / 3600)}小时前` : `${Math.floor(s / 3600)} h ago`;
  return zh ? `${Math.floor(s / 86400)}天前` : `${Math.floor(s / 86400)} d ago`;
}

const pad = (n) => String(n).padStart(2, '0');

// clock is a local time: 08:24 today, 11-23 08:24 otherwise (seconds on
// request). Never UTC: a county reads its own clock.
export function clock(t, seconds = false) {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return '';
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? ':' + pad(d.getSeconds()) : ''}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return hm;
  const md = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return d.getFullYear() === now.getFullYear() ? `${md} ${hm}` : `${d.getFullYear()}-${md} ${hm}`;
}

// stateSince is when a device's state began as a person reads it: for an
// offline camera the start of its outage (down_since, kept across restarts
// of the hub), otherwise its live state's since.
export function stateSince(d) {
  return (d && d.state === 'offline' && d.down_since) || d?.since;
}

// countdown: 剩余 2分18秒 / 超时 4分46秒.
export function countdown(iso) {
  if (!iso) return '';
  const s = (new Date(iso).getTime() - Date.now()) / 1000;
  return s <= 0 ? `${L('overdueBy')} ${dur(-s)}` : `${L('left')} ${dur(s)}`;
}

export function isPast(iso) { return !!iso && new Date(iso).getTime() <= Date.now(); }

// deadlineText: 接单时限 08:24（剩余 2分18秒）.
export function deadlineText(step, iso) {
  if (!iso) return '';
  const name = stepName(step);
  return lang() === 'zh' ? `${name}时限 ${clock(iso)}（${countdown(iso)}）` : `${name} due ${clock(iso)} (${countdown(iso)})`;
}

// stepName is a step as the county names it (制单, 派单, 接单, 派人, 做单, 评单, 考单…).
export function stepName(action) { return L('step_' + action) !== 'step_' + action ? L('step_' + action) : L(action); }

// causeText is a camera or sensor cause a person reads (stalled → 无视频帧).
export function causeText(cause) {
  if (!cause) return '';
  return causes[lang()]?.[cause] ?? causes.zh[cause] ?? cause;
}

// The hub writes some reasons and notes as "中文 / English".
const bilingual = /^([^/]*[\u4e00-\u9fff][^/]*?)\s+\/\s+([\x20-\x7e]+)$/s;

// inLang is the part of a "中文 / English" text for the page's language
// (the whole text when it is not in two parts).
export function inLang(text) {
  const both = String(text || '').match(bilingual);
  if (!both) return String(text || '');
  return lang() === 'en' ? both[2] : both[1];
}

// errText turns an API refusal into what a person reads: the known reasons
// in Chinese, the rest under a Chinese heading by status, the server's own
// words kept after it.
export function errText(status, reason) {
  reason = String(reason || '');
  const both = reason.match(bilingual);
  if (lang() === 'en') return (both ? both[2] : reason) || `HTTP ${status}`;
  for (const [re, zh] of errorPatterns) {
    const m = reason.match(re);
    if (m) return typeof zh === 'function' ? zh(m) : zh;
  }
  const head = { 0: '无法连接到平台', 400: '请求有误', 403: '无权操作', 404: '未找到或无权查看', 409: '当前状态不允许此操作',
    413: '内容过长', 503: '服务暂不可用' }[status] || `操作失败（${status}）`;
  return reason ? `${head}：${reason}` : head;
}

// stepNote is a history step's note: the system's notes in Chinese, a
// person's note as they wrote it.
export function stepNote(s) {
  const note = s.note || '';
  if (!note) return note;
  const both = note.match(bilingual);
  if (both) return lang() === 'en' ? both[2] : both[1];
  if (s.by !== 'system' || lang() === 'en') return note;
  for (const [re, zh] of systemNotes) {
    const m = note.match(re);
    if (m) return typeof zh === 'function' ? zh(m) : zh;
  }
  return note;
}

// historyLine is one step of an incident's history, in local time.
export function historyLine(s) {
  const who = s.by === 'system' ? L('system') : s.by;
  const parts = [clock(s.at, true), who, stepName(s.action)];
  if (s.rating) parts.push(L(s.rating));
  const note = stepNote(s);
  return parts.join(' ') + (note ? `：${note}` : '');
}

export const sevRank = { critical: 3, major: 2, minor: 1 };

export function header(active, me) {
  const h = document.querySelector('header');
  const nav = h.querySelector('nav');
  nav.setAttribute('aria-label', L('nav'));
  const links = [];
  if (me?.role === 'department') links.push(['/department', 'deptDesk']); // all it may see: what it was summoned to
  else {
    links.push(['/', 'wall']);
    if (!me || me.role === 'operator' || me.role === 'admin') links.push(['/county', 'county']);
    if (me?.township) links.push(['/township/' + encodeURIComponent(me.township), 'desk']);
    links.push(['/uptime', 'uptime']);
    if (me && me.role !== 'technician') links.push(['/stats', 'stats']);
  }
  if (me?.role === 'admin' || me?.role === 'security_admin') links.push(['/admin', 'accounts']);
  else if (me?.role === 'operator') links.push(['/admin', 'displays']);
  for (const [href, key] of links) {
    const a = el('a', active === key ? 'active' : '', L(key));
    a.href = href;
    if (active === key) a.setAttribute('aria-current', 'page');
    nav.append(a);
  }
  if (me?.via === 'session') {
    const out = el('button', 'logout', L('logout'));
    out.id = 'logout';
    out.onclick = logout;
    h.append(out);
  }
  h.append(langToggle());
}

// boot is every page's start: the token (or the login box), who is asking
// (/me), the county (/topology), the header's links and the status line
// with the user and role. It returns {me, topo, villages}, or null when
// the page cannot go on (no token, a refused one, the hub not answering:
// said on the page). keepGoing: the wall starts even without the hub, to
// show its banner and reconnect; status: false leaves the status line to
// the page.
export async function boot(page, { keepGoing = false, status = true } = {}) {
  let me = null, topo = null; // no token: the session cookie, or the login box (api's 401)
  try {
    me = await api('/api/v1/me');
    const g = gate(me, '', () => location.reload()); // a temporary password, a second factor to enrol
    if (g) { document.body.replaceChildren(g); return null; }
    topo = await api('/api/v1/topology');
  } catch (e) {
    if (e.status === 401) return null;
    notice(e.message, true);
    if (!keepGoing) return null;
  }
  header(page, me);
  const line = document.getElementById('status');
  if (status && line && me) line.textContent = `${me.name}（${roleName(me.role)}）`;
  return { me, topo, villages: villageIndex(topo) };
}

// roleName is a role as people call it (the role's own name when the
// labels do not know it).
export function roleName(role) {
  const k = 'role_' + role;
  return L(k) !== k ? L(k) : role;
}

// notice shows a short message that reads itself out to screen readers.
export function notice(text, bad = false) {
  let box = document.getElementById('notice');
  if (!box) {
    box = el('div', 'notice');
    box.id = 'notice';
    box.setAttribute('role', 'status');
    document.body.append(box);
  }
  box.textContent = text;
  box.classList.toggle('bad', bad);
  box.classList.add('show');
  clearTimeout(box.timer);
  box.timer = setTimeout(() => box.classList.remove('show'), 6000);
}

// villageIndex maps village ids to {name, township, townshipName} from a topology.
export function villageIndex(topo) {
  const m = new Map();
  for (const t of topo?.townships || []) {
    townshipNames[t.id] = t.name;
    for (const v of t.villages) m.set(v.id, { ...v, township: t.id, townshipName: t.name });
  }
  return m;
}

// csvCell is a cell as it may go into a CSV: one a spreadsheet would run
// as a formula (beginning with =, +, -, @, a tab or a carriage return) gets
// a leading ', except a plain negative number; quoted when it holds a
// quote, a comma or a line break. The hub's CSVs follow the same rule
// (event.SafeCell).
export function csvCell(v) {
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s) && !/^-[0-9]+(\.[0-9]+)?$/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// csvText is rows as CSV text, every cell through csvCell.
export function csvText(rows) {
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

// csvDownload saves rows as a CSV file with a byte-order mark, so Excel on
// Chinese Windows opens it as UTF-8.
export function csvDownload(name, rows) {
  return download(name, '\ufeff' + csvText(rows));
}

// localDate is d's local date, 2026-12-03.
export function localDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// periodName names [a, b) by its local dates: 2026-12-01至2026-12-03 (the
// end is exclusive: a period ending at midnight ends the day before).
export function periodName(a, b) {
  const last = b > a ? new Date(b.getTime() - 1) : b;
  return `${localDate(a)}至${localDate(last)}`;
}

// download saves text as a file (a CSV gets a byte-order mark first if it
// has none).
export function download(name, text) {
  if (name.endsWith('.csv') && !text.startsWith('\ufeff')) text = '\ufeff' + text;
  const a = el('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  return text;
}

// flashTitle alternates the tab's title with text until someone looks at
// the page (it is shown and has the focus), then puts base back.
let flashTimer = null;
export function flashTitle(text, base) {
  clearInterval(flashTimer);
  let on = false;
  flashTimer = setInterval(() => {
    on = !on;
    document.title = on ? text : base;
    if (!document.hidden && document.hasFocus()) { clearInterval(flashTimer); document.title = base; }
  }, 1000);
  window.__flashed = (window.__flashed || 0) + 1;
}
